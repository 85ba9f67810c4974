import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { envRefusal } from '../../core/env-policy.js';
import { LaunchError } from '../../core/errors.js';
import {
  type HealthCheckSpec,
  type ResolvedHealthCheck,
  resolveHealthCheck,
} from '../../core/health-check.js';
import type {
  LaunchResult,
  LaunchSpec,
  LiveTask,
  Logger,
  RuntimeEvent,
  RuntimeInventory,
  SandboxRuntime,
  TaskHealth,
  TaskState,
} from '../../core/ports.js';
import { freePort } from './free-port.js';
import {
  canListProcesses,
  groupAlive,
  type HostProcess,
  hasEnvEntry,
  listProcesses,
  signalGroup,
} from './host-processes.js';
import { type ProcessRecord, ProcessRegistry } from './process-registry.js';

/** A local sandbox profile: the command to run (no shell); it must serve HTTP on `$HOST:$PORT`. */
export interface LocalProfile {
  readonly command: readonly string[];
  /** Strict mode: the env name patterns (`APP_*`) its sandboxes accept; absent, any the policy allows. */
  readonly envAllow?: readonly string[];
  /** A nominal size for the usage ledger. */
  readonly vcpu?: number;
  readonly memoryGiB?: number;
  /**
   * The check that makes a sandbox `running` (src/config/health-check.ts); absent, the sandbox is
   * running once its port answers HTTP at all.
   */
  readonly healthCheck?: HealthCheckSpec;
}

export interface LocalRuntimeOptions {
  /** Holds `chats/`, `dependencies/`, `tools/`, `logs/` and the process registry. Absolute. */
  readonly dataDir: string;
  readonly profiles: Readonly<Record<string, LocalProfile>>;
  /** Receives running and stopped events, the path ECS events take on AWS. */
  readonly onEvent: (event: RuntimeEvent) => Promise<unknown>;
  readonly logger: Logger;
  /** Between SIGTERM and SIGKILL. */
  readonly stopGraceMs?: number;
  /** How long the readiness probe tries before leaving the session to the reconciler. */
  readonly readinessTimeoutMs?: number;
}

/**
 * The environment variable that marks every sandbox process (and its children) as this data folder's,
 * so a control plane that crashed finds them on its next start whatever it had written down.
 */
export const DATA_DIR_MARKER = 'SANDBOX_LOCAL_DATA_DIR';

/** Tenant ids that are a safe directory name as they are (`local`): lowercase, no dots. */
const PLAIN_TENANT = /^(?!t-)[a-z0-9_-]{1,64}$/;

/**
 * The directory name of a tenant: its id when that is a plain lowercase name, else `t-` and 40 hex
 * digits of its SHA-256. So no tenant id can name `.`, `..` or another tenant's folder (also on a
 * case-insensitive file system), and an ARN never exceeds a file name's 255 bytes.
 */
export function tenantDirName(tenant: string): string {
  return PLAIN_TENANT.test(tenant)
    ? tenant
    : `t-${createHash('sha256').update(tenant).digest('hex').slice(0, 40)}`;
}

/** A chat's directory in local mode: `<dataDir>/chats/<tenant directory>/<chatId>`. */
export function localChatDir(
  dataDir: string,
  chat: { readonly tenant: string; readonly chatId: string },
): string {
  return join(dataDir, 'chats', tenantDirName(chat.tenant), chat.chatId);
}

interface Sandbox {
  readonly record: ProcessRecord & { readonly pid: number };
  /** Reported running: its port answered, or its health check passed. */
  ready: boolean;
  /** What its health check says so far (`starting` for a profile without one). */
  health: TaskHealth;
  exit: string | null;
  readonly exited: Promise<void>;
}

const PROBE_INTERVAL_MS = 25;
/** How often a health check is tried until it first passes (a local agent starts in milliseconds). */
const HEALTH_POLL_MS = 25;
const ADOPTED_POLL_MS = 500;

/**
 * Runs each sandbox as a local process on a free loopback port, in its own process group, with the
 * chat's directory and the shared ones passed as `CHAT_DIR`, `DEPENDENCIES_DIR`, `TOOLS_DIR`.
 *
 * Crash safety: a record of the intent is written before the spawn, and every sandbox process carries
 * `SANDBOX_LOCAL_DATA_DIR` in its environment. At start the runtime finds every process of its data
 * folder (by that marker on Linux, by recorded pid elsewhere), keeps one process group per session and
 * stops the rest; the reconciler's orphan sweep then stops whatever no live session owns.
 */
export class LocalProcessRuntime implements SandboxRuntime {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly launching = new Map<string, Promise<LaunchResult>>();
  private readonly registry: ProcessRegistry;
  private readonly stopGraceMs: number;
  private readonly readinessTimeoutMs: number;

  constructor(private readonly options: LocalRuntimeOptions) {
    this.registry = new ProcessRegistry(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.readinessTimeoutMs = options.readinessTimeoutMs ?? 30_000;
    this.recover();
  }

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    if (this.sandboxes.has(spec.sessionId)) return { ref: refOf(spec.sessionId) };
    let pending = this.launching.get(spec.sessionId);
    if (!pending) {
      pending = this.spawnSandbox(spec).finally(() => this.launching.delete(spec.sessionId));
      this.launching.set(spec.sessionId, pending);
    }
    return pending;
  }

  async describe(ref: string): Promise<TaskState> {
    const sandbox = this.sandboxes.get(sessionIdOf(ref));
    if (!sandbox) return { status: 'missing' };
    if (sandbox.exit !== null) return { status: 'stopped', reason: sandbox.exit };
    if (sandbox.ready) {
      const checked = this.healthCheckOf(sandbox) !== undefined;
      return {
        status: 'running',
        endpoint: endpointOf(sandbox),
        ...(checked ? { health: sandbox.health } : {}),
      };
    }
    // Up, but its health check failed its retries: running as a process, not ready as a sandbox.
    if (sandbox.health === 'unhealthy') {
      return { status: 'running', endpoint: endpointOf(sandbox), health: 'unhealthy' };
    }
    return { status: 'pending' };
  }

  async stop(ref: string): Promise<void> {
    const sandbox = this.sandboxes.get(sessionIdOf(ref));
    if (!sandbox || sandbox.exit !== null) return;
    signalGroup(sandbox.record.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(sandbox.record.pid, 'SIGKILL'), this.stopGraceMs);
    timer.unref();
    void sandbox.exited.then(() => clearTimeout(timer));
  }

  /** Every live process group this runtime started or adopted; it has no strangers (see `recover`). */
  async inventory(): Promise<RuntimeInventory> {
    const tasks: LiveTask[] = [...this.sandboxes.values()]
      .filter((sandbox) => sandbox.exit === null)
      .map(({ record }) => ({
        ref: refOf(record.sessionId),
        tenant: record.tenant,
        chatId: record.chatId,
        sessionId: record.sessionId,
        startedAt: record.startedAt,
      }));
    return { tasks, strangers: [] };
  }

  /** Resolves once every launch has settled and every known process has exited and been reported. */
  async allExited(): Promise<void> {
    await Promise.allSettled([...this.launching.values()]);
    await Promise.all([...this.sandboxes.values()].map((sandbox) => sandbox.exited));
  }

  /**
   * Spawns one sandbox. Every failure before the process runs is a `LaunchError` (the session fails
   * at once) and leaves nothing behind: no record, no descriptor, no process.
   */
  private async spawnSandbox(spec: LaunchSpec): Promise<LaunchResult> {
    const ref = refOf(spec.sessionId);
    const profile = this.options.profiles[spec.profile];
    if (!profile || profile.command.length === 0) {
      throw new LaunchError(`local profile '${spec.profile}' has no command`, false);
    }
    const refusal = envRefusal(spec.env, profile.envAllow);
    if (refusal) throw new LaunchError(refusal, false);
    const { dataDir } = this.options;
    const chatDir = localChatDir(dataDir, spec);
    const dependenciesDir = join(dataDir, 'dependencies');
    const toolsDir = join(dataDir, 'tools');
    const logsDir = join(dataDir, 'logs');
    for (const dir of [chatDir, dependenciesDir, toolsDir, logsDir]) mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const intent: ProcessRecord = {
      tenant: spec.tenant,
      chatId: spec.chatId,
      sessionId: spec.sessionId,
      port,
      pid: null,
      startedAt: Date.now(),
      profile: spec.profile,
    };
    this.registry.write(intent);

    const [command, ...args] = profile.command as [string, ...string[]];
    let child: ChildProcess;
    let log: number | undefined;
    try {
      log = openSync(join(logsDir, `${spec.sessionId}.log`), 'a', 0o600);
      child = spawn(command, args, {
        cwd: chatDir,
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
          ...spec.env,
          AGENT_ID: spec.agentId,
          CHAT_ID: spec.chatId,
          SESSION_ID: spec.sessionId,
          HOST: '127.0.0.1',
          PORT: String(port),
          CHAT_DIR: chatDir,
          DEPENDENCIES_DIR: dependenciesDir,
          TOOLS_DIR: toolsDir,
          [DATA_DIR_MARKER]: dataDir,
        },
      });
    } catch (error) {
      this.registry.remove(spec.sessionId);
      throw new LaunchError(`could not start ${command}: ${messageOf(error)}`, false, { cause: error });
    } finally {
      if (log !== undefined) closeSync(log);
    }
    if (child.pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      this.registry.remove(spec.sessionId);
      throw new LaunchError(`could not start ${command}: ${error.message}`, false, { cause: error });
    }
    const record = { ...intent, pid: child.pid };
    this.registry.write(record);
    child.on('error', (error) =>
      this.options.logger.warn('sandbox process error', { ...identity(record), error }),
    );
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        // The sandbox is its process group: what its first process leaves behind goes with it.
        signalGroup(record.pid, 'SIGKILL');
        this.onExit(sandbox, signal ? `exited on ${signal}` : `exited with code ${code}`).finally(resolve);
      });
    });
    const sandbox: Sandbox = { record, ready: false, health: 'starting', exit: null, exited };
    this.sandboxes.set(spec.sessionId, sandbox);
    void this.probe(sandbox);
    return { ref };
  }

  /** Reports the sandbox running once it is ready: its health check passed, or its port answers. */
  private async probe(sandbox: Sandbox): Promise<void> {
    const spec = this.healthCheckOf(sandbox);
    if (spec) return this.checkHealth(sandbox, resolveHealthCheck(spec));
    const endpoint = endpointOf(sandbox);
    const deadline = Date.now() + this.readinessTimeoutMs;
    while (sandbox.exit === null && Date.now() < deadline) {
      try {
        await fetch(`http://${endpoint.host}:${endpoint.port}/`, { signal: AbortSignal.timeout(1_000) });
        sandbox.ready = true;
        await this.emit({ kind: 'running', endpoint, ...identity(sandbox.record) });
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
      }
    }
    if (sandbox.exit === null) {
      this.options.logger.warn(
        'sandbox did not answer its readiness probe in time',
        identity(sandbox.record),
      );
    }
  }

  private healthCheckOf(sandbox: Sandbox): HealthCheckSpec | undefined {
    const profile = sandbox.record.profile;
    return profile ? this.options.profiles[profile]?.healthCheck : undefined;
  }

  /**
   * Runs the profile's health check until it passes, then reports the sandbox running. It is tried
   * every 25 ms (so a quick agent is ready quickly); failures after the start period count once per
   * interval, and `retries` of them make the sandbox unhealthy, which the reconciler fails at the
   * provisioning timeout unless the check passes before.
   */
  private async checkHealth(sandbox: Sandbox, check: ResolvedHealthCheck): Promise<void> {
    const started = Date.now();
    let failures = 0;
    let lastCounted = 0;
    while (sandbox.exit === null) {
      if (await this.passes(sandbox, check)) {
        sandbox.health = 'healthy';
        sandbox.ready = true;
        await this.emit({
          kind: 'running',
          endpoint: endpointOf(sandbox),
          health: 'healthy',
          ...identity(sandbox.record),
        });
        return;
      }
      const now = Date.now();
      const afterStart = now - started >= check.startPeriodSeconds * 1000;
      if (afterStart && now - lastCounted >= check.intervalSeconds * 1000) {
        failures += 1;
        lastCounted = now;
        if (failures >= check.retries && sandbox.health !== 'unhealthy') {
          sandbox.health = 'unhealthy';
          this.options.logger.warn('sandbox failed its health check', {
            ...identity(sandbox.record),
            failures,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
  }

  /** One run of the check: the path answers 2xx, or the command exits 0, within the timeout. */
  private async passes(sandbox: Sandbox, check: ResolvedHealthCheck): Promise<boolean> {
    const { host, port } = endpointOf(sandbox);
    const timeoutMs = check.timeoutSeconds * 1000;
    if (check.path !== undefined) {
      try {
        const answer = await fetch(`http://${host}:${port}${check.path}`, {
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        await answer.body?.cancel();
        return answer.status >= 200 && answer.status < 300;
      } catch {
        return false;
      }
    }
    const [command, ...args] = check.command as [string, ...string[]];
    const { dataDir } = this.options;
    const { record } = sandbox;
    return new Promise<boolean>((resolve) => {
      const child = spawn(command, args, {
        cwd: localChatDir(dataDir, record),
        stdio: 'ignore',
        timeout: timeoutMs,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          CHAT_ID: record.chatId,
          SESSION_ID: record.sessionId,
          HOST: host,
          PORT: String(port),
          [DATA_DIR_MARKER]: dataDir,
        },
      });
      child.once('error', () => resolve(false));
      child.once('exit', (code) => resolve(code === 0));
    });
  }

  private async onExit(sandbox: Sandbox, reason: string): Promise<void> {
    sandbox.exit = reason;
    this.registry.remove(sandbox.record.sessionId);
    await this.emit({ kind: 'stopped', reason, ...identity(sandbox.record) });
  }

  /**
   * Finds the processes a previous run left behind: one process group per session is adopted (the
   * recorded one, else the oldest), every other group of this data folder is killed, and records
   * without a process are dropped.
   */
  private recover(): void {
    const records = new Map(this.registry.readAll().map((record) => [record.sessionId, record]));
    const groups = this.findGroups(records);
    for (const [sessionId, found] of groups) {
      const record = records.get(sessionId);
      const keep = record ? (found.find((group) => group.pgid === record.pid) ?? found[0]) : undefined;
      for (const group of found) {
        if (group === keep) continue;
        this.options.logger.warn('stopping a sandbox process no session can own', {
          sessionId,
          pgid: group.pgid,
          recorded: record !== undefined,
        });
        signalGroup(group.pgid, 'SIGKILL');
      }
      if (record && keep) this.adopt({ ...record, pid: keep.pgid, port: keep.port ?? record.port });
    }
    for (const sessionId of records.keys()) {
      if (!this.sandboxes.has(sessionId)) this.registry.remove(sessionId);
    }
  }

  /** This data folder's sandbox process groups by session id, oldest first. */
  private findGroups(
    records: ReadonlyMap<string, ProcessRecord>,
  ): Map<string, { pgid: number; port: number | null }[]> {
    const groups = new Map<string, { pgid: number; port: number | null; startTicks: number }[]>();
    const add = (sessionId: string, pgid: number, port: number | null, startTicks: number) => {
      const list = groups.get(sessionId) ?? [];
      if (!list.some((group) => group.pgid === pgid)) list.push({ pgid, port, startTicks });
      groups.set(sessionId, list);
    };
    if (canListProcesses()) {
      const ours = listProcesses().filter(
        (found: HostProcess) => found.env.get(DATA_DIR_MARKER) === this.options.dataDir,
      );
      // A group is known by its leader when it is alive, else by its oldest member.
      for (const found of ours.sort((a, b) => a.startTicks - b.startTicks)) {
        const sessionId = found.env.get('SESSION_ID');
        if (!sessionId) {
          signalGroup(found.pgid, 'SIGKILL');
          continue;
        }
        const port = Number(found.env.get('PORT'));
        add(sessionId, found.pgid, Number.isInteger(port) ? port : null, found.startTicks);
      }
    } else {
      for (const record of records.values()) {
        if (record.pid !== null && hasEnvEntry(record.pid, 'SESSION_ID', record.sessionId)) {
          add(record.sessionId, record.pid, record.port, 0);
        }
      }
    }
    for (const list of groups.values()) list.sort((a, b) => a.startTicks - b.startTicks);
    return groups;
  }

  /**
   * Takes over a process group a previous run started. There is no handle on it, so its end is found
   * by polling; it is reported running once its port answers, as a fresh launch is.
   */
  private adopt(record: ProcessRecord & { readonly pid: number }): void {
    let resolveExited: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      resolveExited = resolve;
    });
    this.registry.write(record);
    const sandbox: Sandbox = { record, ready: false, health: 'starting', exit: null, exited };
    this.sandboxes.set(record.sessionId, sandbox);
    const timer = setInterval(() => {
      if (groupAlive(record.pid)) return;
      clearInterval(timer);
      this.onExit(sandbox, 'exited').finally(resolveExited);
    }, ADOPTED_POLL_MS);
    timer.unref();
    this.options.logger.info('adopted a sandbox process from a previous run', {
      ...identity(record),
      pid: record.pid,
    });
    void this.probe(sandbox);
  }

  private async emit(event: RuntimeEvent): Promise<void> {
    try {
      await this.options.onEvent(event);
    } catch (error) {
      this.options.logger.error('runtime event handling failed', { sessionId: event.sessionId, error });
    }
  }
}

function refOf(sessionId: string): string {
  return `local/${sessionId}`;
}

function sessionIdOf(ref: string): string {
  return ref.startsWith('local/') ? ref.slice('local/'.length) : ref;
}

function endpointOf(sandbox: Sandbox): { host: string; port: number } {
  return { host: '127.0.0.1', port: sandbox.record.port };
}

function identity(record: ProcessRecord): { tenant: string; chatId: string; sessionId: string; ref: string } {
  return {
    tenant: record.tenant,
    chatId: record.chatId,
    sessionId: record.sessionId,
    ref: refOf(record.sessionId),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
