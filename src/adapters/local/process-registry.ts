/**
 * A file per sandbox process under `<dataDir>/runtime`, so a control plane that crashed can find the
 * processes it left behind when it starts again.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint } from '../../core/model.js';

export interface ProcessRecord {
  readonly pid: number;
  readonly tenant: string;
  readonly chatId: string;
  readonly sessionId: string;
  readonly endpoint: Endpoint;
  readonly startedAt: number;
}

export class ProcessRegistry {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'runtime');
    mkdirSync(this.dir, { recursive: true });
  }

  write(record: ProcessRecord): void {
    writeFileSync(this.file(record.sessionId), JSON.stringify(record));
  }

  remove(sessionId: string): void {
    rmSync(this.file(sessionId), { force: true });
  }

  /** Records whose process is still alive and still the same sandbox; stale records are removed. */
  survivors(): ProcessRecord[] {
    const alive: ProcessRecord[] = [];
    for (const name of readdirSync(this.dir).filter((entry) => entry.endsWith('.json'))) {
      let record: ProcessRecord;
      try {
        record = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as ProcessRecord;
      } catch {
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      if (isSameProcess(record)) alive.push(record);
      else this.remove(record.sessionId);
    }
    return alive;
  }

  private file(sessionId: string): string {
    return join(this.dir, `${sessionId}.json`);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Alive, and still carrying the sandbox's SESSION_ID in its environment, so a reused pid is never
 * taken for a sandbox (and never signalled): /proc on Linux, `ps eww` elsewhere. When neither can
 * tell, the process is not adopted.
 */
function isSameProcess(record: ProcessRecord): boolean {
  if (!isAlive(record.pid)) return false;
  const marker = `SESSION_ID=${record.sessionId}`;
  try {
    return readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0').includes(marker);
  } catch {
    const ps = spawnSync('ps', ['eww', '-o', 'command=', '-p', String(record.pid)], { encoding: 'utf8' });
    return ps.status === 0 && ps.stdout.split(/\s+/).includes(marker);
  }
}
