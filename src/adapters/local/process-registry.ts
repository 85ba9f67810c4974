/**
 * A file per sandbox under `<dataDir>/runtime`, written before the process is spawned and again with
 * its pid, each time atomically (a temporary file renamed over the old one), so a control plane that
 * crashed at any point finds a whole record for every process it may have started.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessRecord {
  readonly tenant: string;
  readonly chatId: string;
  readonly sessionId: string;
  /** The loopback port the sandbox was given. */
  readonly port: number;
  /** The process (and process group) id; null between the intent and the spawn. */
  readonly pid: number | null;
  readonly startedAt: number;
  /** The profile it runs (for its health check after a restart); absent in records of older runs. */
  readonly profile?: string;
}

const SESSION_FILE = /^([A-Za-z0-9-]{1,64})\.json$/;

export class ProcessRegistry {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'runtime');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  write(record: ProcessRecord): void {
    const file = this.file(record.sessionId);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
    renameSync(temporary, file);
  }

  remove(sessionId: string): void {
    rmSync(this.file(sessionId), { force: true });
  }

  /** Every record on disk; leftovers of an interrupted write (temporary files) are removed. */
  readAll(): ProcessRecord[] {
    const records: ProcessRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (!SESSION_FILE.test(name)) {
        rmSync(path, { force: true });
        continue;
      }
      try {
        records.push(JSON.parse(readFileSync(path, 'utf8')) as ProcessRecord);
      } catch {
        // Only a hand-edited file can be unreadable: renames are atomic.
        rmSync(path, { force: true });
      }
    }
    return records;
  }

  private file(sessionId: string): string {
    return join(this.dir, `${sessionId}.json`);
  }
}
