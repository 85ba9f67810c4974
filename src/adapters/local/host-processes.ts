/**
 * Finding and signalling this user's processes on the host, for local mode's crash recovery: sandbox
 * processes carry a marker in their environment, DynamoDB Local carries its `-dbPath` on its command
 * line. On Linux every process is read from `/proc`; elsewhere only a process whose pid was recorded
 * can be checked, with `ps` (see docs/local.md, "Crash recovery").
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A process as `/proc` shows it. */
export interface HostProcess {
  readonly pid: number;
  /** Its process group; a sandbox is the group its first process leads. */
  readonly pgid: number;
  /** Start time in clock ticks since boot: orders processes, tells a reused pid from the original. */
  readonly startTicks: number;
  readonly argv: readonly string[];
  readonly env: ReadonlyMap<string, string>;
}

/** Whether every process can be listed (`/proc` with readable environments). */
export function canListProcesses(): boolean {
  return process.platform === 'linux' && readable('/proc/self/environ');
}

function readable(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

function nulSeparated(text: string): string[] {
  return text.split('\0').filter((part) => part.length > 0);
}

/** One process from `/proc/<pid>`, or null if it is gone or belongs to another user. */
export function readProcess(pid: number): HostProcess | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const env = new Map<string, string>();
    for (const entry of nulSeparated(readFileSync(`/proc/${pid}/environ`, 'utf8'))) {
      const equals = entry.indexOf('=');
      if (equals > 0) env.set(entry.slice(0, equals), entry.slice(equals + 1));
    }
    return {
      pid,
      pgid: Number(fields[2]),
      startTicks: Number(fields[19]),
      argv: nulSeparated(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
      env,
    };
  } catch {
    return null;
  }
}

/** Every process of this user that `/proc` shows (Linux); empty elsewhere. */
export function listProcesses(): HostProcess[] {
  if (!canListProcesses()) return [];
  const found: HostProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const read = readProcess(pid);
    if (read) found.push(read);
  }
  return found;
}

/** Whether a process with this pid exists and has not ended (it may be another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** An ended process its parent has not reaped yet still answers signals; /proc tells (Linux). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Whether any process of the group is left. */
export function groupAlive(pgid: number): boolean {
  return isAlive(-pgid);
}

/** Signals a whole process group; a group that is gone already is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Whether the live process `pid` has `NAME=value` in its environment: `/proc` on Linux, `ps eww`
 * elsewhere (which prints the environment after the command). False when neither can tell.
 */
export function hasEnvEntry(pid: number, name: string, value: string): boolean {
  if (!isAlive(pid)) return false;
  const read = readProcess(pid);
  if (read) return read.env.get(name) === value;
  const ps = spawnSync('ps', ['eww', '-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 && ps.stdout.split(/\s+/).includes(`${name}=${value}`);
}

/** The command line of a live process: `/proc` on Linux, `ps` elsewhere; null if unknown. */
export function commandLineOf(pid: number): string | null {
  const read = readProcess(pid);
  if (read) return read.argv.join(' ');
  const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 ? ps.stdout.trim() : null;
}

/** Resolves once `pid` is gone, or after `timeoutMs`; answers whether it is gone. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
