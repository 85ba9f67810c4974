/** An in-memory sandbox runtime for the bench: a launch takes a set time, like a real one would. */
import type {
  LaunchResult,
  LaunchSpec,
  LiveTask,
  Logger,
  RuntimeInventory,
  SandboxRuntime,
  TaskState,
} from '../../src/core/ports.js';

interface Task {
  readonly spec: LaunchSpec;
  readonly startedAt: number;
  stopped: boolean;
}

/**
 * Launches resolve after `launchMs` and are idempotent per session id; `stop` resolves at once.
 * Counts distinct launches and stop requests, so a figure can check them.
 */
export class TimedRuntime implements SandboxRuntime {
  private readonly tasks = new Map<string, Task>();
  /** Distinct sessions launched. */
  launches = 0;
  stops = 0;

  constructor(private readonly launchMs: number) {}

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    if (this.launchMs > 0) await new Promise((resolve) => setTimeout(resolve, this.launchMs));
    const ref = `bench-task/${spec.sessionId}`;
    if (!this.tasks.has(ref)) {
      this.launches += 1;
      this.tasks.set(ref, { spec, startedAt: Date.now(), stopped: false });
    }
    return { ref };
  }

  async describe(ref: string): Promise<TaskState> {
    const task = this.tasks.get(ref);
    if (!task) return { status: 'missing' };
    if (task.stopped) return { status: 'stopped', reason: 'stop requested' };
    return { status: 'running', endpoint: { host: '127.0.0.1', port: 9 } };
  }

  async stop(ref: string): Promise<void> {
    this.stops += 1;
    const task = this.tasks.get(ref);
    if (task) task.stopped = true;
  }

  async inventory(): Promise<RuntimeInventory> {
    const tasks = [...this.tasks.entries()]
      .filter(([, task]) => !task.stopped)
      .map(([ref, task]) => ({
        ref,
        tenant: task.spec.tenant,
        chatId: task.spec.chatId,
        sessionId: task.spec.sessionId,
        startedAt: task.startedAt,
      }));
    return { tasks, strangers: [] };
  }

  /** Adds tasks launched elsewhere (e.g. sessions bulk-loaded into the table) as live tasks. */
  adopt(tasks: readonly LiveTask[]): void {
    for (const task of tasks) {
      const spec = { ...task, agentId: 'agent-bench', profile: 'default', env: {} };
      this.tasks.set(task.ref, { spec, startedAt: task.startedAt, stopped: false });
    }
  }

  /** Session ids of every task launched, live or stopped. */
  sessionIds(): string[] {
    return [...this.tasks.values()].map((task) => task.spec.sessionId);
  }
}

/** A logger that keeps only a count of warnings and errors, so the table stays readable. */
export class CountingLogger implements Logger {
  warnings = 0;
  errors = 0;
  readonly lastErrors: string[] = [];

  info(): void {}
  warn(): void {
    this.warnings += 1;
  }
  error(message: string, extra?: Record<string, unknown>): void {
    this.errors += 1;
    if (this.lastErrors.length < 5) {
      const cause = extra?.error instanceof Error ? `: ${extra.error.name}: ${extra.error.message}` : '';
      this.lastErrors.push(`${message}${cause}`);
    }
  }
}
