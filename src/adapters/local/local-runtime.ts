import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { LaunchError } from '../../core/errors.js';
import type {
  LaunchResult,
  LaunchSpec,
  LiveTask,
  Logger,
  RuntimeEvent,
  SandboxRuntime,
  TaskState,
} from '../../core/ports.js';
import { freePort } from './free-port.js';
import { isAlive, type ProcessRecord, ProcessRegistry } from './process-registry.js';

/** A local sandbox profile: the command to run; it must serve HTTP on `$HOST:$PORT`. */
export interface LocalProfile {
  readonly command: readonly string[];
}

export interface LocalRuntimeOptions {
  /** Holds `chats/`, `dependencies/`, `tools/`, `logs/` and the process registry. */
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

interface Sandbox {
  readonly record: ProcessRecord;
  ready: boolean;
  exit: string | null;
  readonly exited: Promise<void>;
}

const PROBE_INTERVAL_MS = 25;
const ADOPTED_POLL_MS = 1_000;

/**
 * Runs each sandbox as a local process on a free loopback port, in its own process group, with the
 * chat's directory and the shared ones passed as `CHAT_DIR`, `DEPENDENCIES_DIR`, `TOOLS_DIR`.
 * Processes a previous run left behind are adopted from the registry.
 */
export class LocalProcessRuntime implements SandboxRuntime {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly registry: ProcessRegistry;
  private readonly stopGraceMs: number;
  private readonly readinessTimeoutMs: number;

  constructor(private readonly options: LocalRuntimeOptions) {
    this.registry = new ProcessRegistry(options.dataDir);
    this.stopGraceMs = options.stopGraceMs ?? 5_000;
    this.readinessTimeoutMs = options.readinessTimeoutMs ?? 30_000;
    for (const record of this.registry.survivors()) this.adopt(record);
  }

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    const ref = refOf(spec.sessionId);
    if (this.sandboxes.has(spec.sessionId)) return { ref };
    const profile = this.options.profiles[spec.profile];
    if (!profile || profile.command.length === 0) {
      throw new LaunchError(`local profile '${spec.profile}' has no command`, false);
    }
    const { dataDir } = this.options;
    const chatDir = join(dataDir, 'chats', encodeURIComponent(spec.tenant), spec.chatId);
    const dependenciesDir = join(dataDir, 'dependencies');
    const toolsDir = join(dataDir, 'tools');
    const logsDir = join(dataDir, 'logs');
    for (const dir of [chatDir, dependenciesDir, toolsDir, logsDir]) mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const log = openSync(join(logsDir, `${spec.sessionId}.log`), 'a');
    const [command, ...args] = profile.command as [string, ...string[]];
    const child = spawn(command, args, {
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
      },
    });
    closeSync(log);
    if (child.pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new LaunchError(`could not start ${command}: ${error.message}`, false);
    }
    const record: ProcessRecord = {
      pid: child.pid,
      tenant: spec.tenant,
      chatId: spec.chatId,
      sessionId: spec.sessionId,
      endpoint: { host: '127.0.0.1', port },
      startedAt: Date.now(),
    };
    child.on('error', (error) =>
      this.options.logger.warn('sandbox process error', { ...identity(record), error }),
    );
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(sandbox, signal ? `exited on ${signal}` : `exited with code ${code}`).finally(resolve);
      });
    });
    const sandbox: Sandbox = { record, ready: false, exit: null, exited };
    this.registry.write(record);
    this.sandboxes.set(spec.sessionId, sandbox);
    void this.probe(sandbox);
    return { ref };
  }

  async describe(ref: string): Promise<TaskState> {
    const sandbox = this.sandboxes.get(sessionIdOf(ref));
    if (!sandbox) return { status: 'missing' };
    if (sandbox.exit !== null) return { status: 'stopped', reason: sandbox.exit };
    return sandbox.ready ? { status: 'running', endpoint: sandbox.record.endpoint } : { status: 'pending' };
  }

  async stop(ref: string): Promise<void> {
    const sandbox = this.sandboxes.get(sessionIdOf(ref));
    if (!sandbox || sandbox.exit !== null) return;
    signalGroup(sandbox.record.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(sandbox.record.pid, 'SIGKILL'), this.stopGraceMs);
    timer.unref();
    void sandbox.exited.then(() => clearTimeout(timer));
  }

  async listLive(): Promise<readonly LiveTask[]> {
    return [...this.sandboxes.values()]
      .filter((sandbox) => sandbox.exit === null)
      .map(({ record }) => ({
        ref: refOf(record.sessionId),
        tenant: record.tenant,
        chatId: record.chatId,
        sessionId: record.sessionId,
        startedAt: record.startedAt,
      }));
  }

  /** Resolves once every process this runtime knows has exited and its event was delivered. */
  async allExited(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((sandbox) => sandbox.exited));
  }

  /** Polls the sandbox's port until it answers HTTP, then reports it running. */
  private async probe(sandbox: Sandbox): Promise<void> {
    const { host, port } = sandbox.record.endpoint;
    const deadline = Date.now() + this.readinessTimeoutMs;
    while (sandbox.exit === null && Date.now() < deadline) {
      try {
        await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(1_000) });
        sandbox.ready = true;
        await this.emit({ kind: 'running', endpoint: sandbox.record.endpoint, ...identity(sandbox.record) });
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

  private async onExit(sandbox: Sandbox, reason: string): Promise<void> {
    sandbox.exit = reason;
    this.registry.remove(sandbox.record.sessionId);
    await this.emit({ kind: 'stopped', reason, ...identity(sandbox.record) });
  }

  /** Takes over a process a previous run started: no handle, so its exit is found by polling. */
  private adopt(record: ProcessRecord): void {
    let resolveExited: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      resolveExited = resolve;
    });
    const sandbox: Sandbox = { record, ready: true, exit: null, exited };
    this.sandboxes.set(record.sessionId, sandbox);
    const timer = setInterval(() => {
      if (isAlive(record.pid)) return;
      clearInterval(timer);
      this.onExit(sandbox, 'exited').finally(resolveExited);
    }, ADOPTED_POLL_MS);
    timer.unref();
    this.options.logger.info('adopted a sandbox process from a previous run', {
      ...identity(record),
      pid: record.pid,
    });
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

function identity(record: ProcessRecord): { tenant: string; chatId: string; sessionId: string; ref: string } {
  return {
    tenant: record.tenant,
    chatId: record.chatId,
    sessionId: record.sessionId,
    ref: refOf(record.sessionId),
  };
}

/** Signals the sandbox's whole process group (it runs detached, as a group leader). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
