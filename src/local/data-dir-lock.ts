import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../adapters/local/host-processes.js';
import { StartupError } from './startup-error.js';

/** Held by the control plane that uses a data folder; two would share DynamoDB Local's files. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes `<dataDir>/control-plane.pid` (created exclusively, so two starts cannot both win), or throws
 * naming the live process that holds it. A file left by a process that is gone is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'control-plane.pid');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (holder !== null && isAlive(holder)) {
      throw new StartupError(
        `${dataDir} is in use by another control plane (pid ${holder}); stop it, or set SANDBOX_DATA_DIR to another folder.`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new StartupError(`could not take ${file}; another control plane is starting on ${dataDir}.`);
}

function readHolder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
