import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../adapters/local/process-registry.js';
import { StartupError } from './startup-error.js';

/** Held by the control plane that uses a data folder; two would share DynamoDB Local's files. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes `<dataDir>/control-plane.pid`, or throws naming the live process that holds it. A file left
 * by a process that is gone is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'control-plane.pid');
  let holder: number | null = null;
  try {
    holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    holder = null;
  }
  if (holder !== null && Number.isInteger(holder) && isAlive(holder)) {
    throw new StartupError(
      `${dataDir} is in use by another control plane (pid ${holder}); stop it, or set SANDBOX_DATA_DIR to another folder.`,
    );
  }
  writeFileSync(file, String(process.pid));
  return { release: () => rmSync(file, { force: true }) };
}
