/** Small fakes of core's ports for unit tests: a clock tests move by hand, ids in sequence, a runtime in memory. */
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';

import type { CoreDeps } from '../../src/core/deps.js';
import { LaunchError } from '../../src/core/errors.js';
import type { LifecycleConfig } from '../../src/core/lifecycle.js';
import { DEFAULT_LIFECYCLE } from '../../src/core/lifecycle.js';
import type {
  Clock,
  IdGenerator,
  LaunchResult,
  LaunchSpec,
  LiveTask,
  Logger,
  RuntimeInventory,
  SandboxRuntime,
  SessionStore,
  StrangerTask,
  TaskState,
} from '../../src/core/ports.js';

export const T0 = Date.parse('2026-11-22T00:00:00.000Z');

export class ManualClock implements Clock {
  constructor(public current = T0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  async sleep(ms: number): Promise<void> {
    this.current += ms;
    await Promise.resolve();
  }
}

export class SequentialIds implements IdGenerator {
  private next = 1;
  sessionId(): string {
    const n = this.next++;
    return `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
  }
}

export interface FakeTask {
  ref: string;
  spec: LaunchSpec;
  state: TaskState;
  startedAt: number;
  stopRequests: number;
}

/** An in-memory runtime: launches are idempotent per session id; tests script failures and states. */
export class FakeRuntime implements SandboxRuntime {
  readonly tasks = new Map<string, FakeTask>();
  launches = 0;
  /** Set to make the next launches fail this way. */
  failNext: { error: unknown; times: number } | null = null;
  /** Runs inside launch, after the task exists: lets a test interleave a concurrent write. */
  onLaunch: ((spec: LaunchSpec) => Promise<void>) | null = null;
  launchDelayMs = 0;

  constructor(private readonly clock: Clock) {}

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    if (this.launchDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.launchDelayMs));
    if (this.failNext && this.failNext.times > 0) {
      this.failNext.times -= 1;
      throw this.failNext.error;
    }
    const ref = `task/${spec.sessionId}`;
    if (!this.tasks.has(ref)) {
      this.launches += 1;
      this.tasks.set(ref, {
        ref,
        spec,
        state: { status: 'pending' },
        startedAt: this.clock.now(),
        stopRequests: 0,
      });
    }
    if (this.onLaunch) await this.onLaunch(spec);
    return { ref };
  }

  async describe(ref: string): Promise<TaskState> {
    return this.tasks.get(ref)?.state ?? { status: 'missing' };
  }

  async stop(ref: string, _reason?: string): Promise<void> {
    if (this.strangers.some((stranger) => stranger.ref === ref)) this.stopped.add(ref);
    const task = this.tasks.get(ref);
    if (!task) return;
    task.stopRequests += 1;
    task.state = { status: 'stopped', reason: 'stop requested' };
  }

  /** Tasks no session names, as a test scripts them. */
  strangers: StrangerTask[] = [];

  async inventory(): Promise<RuntimeInventory> {
    const tasks: LiveTask[] = [...this.tasks.values()]
      .filter((task) => task.state.status === 'pending' || task.state.status === 'running')
      .map((task) => ({
        ref: task.ref,
        tenant: task.spec.tenant,
        chatId: task.spec.chatId,
        sessionId: task.spec.sessionId,
        startedAt: task.startedAt,
      }));
    return { tasks, strangers: this.strangers.filter((stranger) => !this.stopped.has(stranger.ref)) };
  }

  /** Refs of strangers stopped. */
  readonly stopped = new Set<string>();

  running(): FakeTask[] {
    return [...this.tasks.values()].filter(
      (task) => task.state.status === 'running' || task.state.status === 'pending',
    );
  }

  /** Marks a task running at a made-up endpoint. */
  markRunning(ref: string): void {
    const task = this.tasks.get(ref);
    if (task) task.state = { status: 'running', endpoint: { host: '10.0.0.1', port: 8000 } };
  }
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export function throttled(): LaunchError {
  return new LaunchError('RunTask throttled', true);
}

/**
 * Core deps over a DynamoDB Local table (its session store, and a quota store over the same table
 * unless given), a manual clock, sequential ids and an in-memory runtime.
 */
export function coreDeps(
  store: SessionStore,
  overrides: Partial<Omit<CoreDeps, 'store' | 'config'>> & { config?: Partial<LifecycleConfig> } = {},
): CoreDeps & { clock: ManualClock; runtime: FakeRuntime } {
  const clock = (overrides.clock as ManualClock | undefined) ?? new ManualClock();
  const runtime = (overrides.runtime as FakeRuntime | undefined) ?? new FakeRuntime(clock);
  if (!overrides.quotas && !(store instanceof DynamoSessionStore)) {
    throw new Error('coreDeps needs a DynamoSessionStore, or a quota store of its own');
  }
  return {
    store,
    quotas:
      overrides.quotas ??
      new DynamoQuotaStore((store as DynamoSessionStore).client, (store as DynamoSessionStore).tableName),
    clock,
    runtime,
    ids: overrides.ids ?? new SequentialIds(),
    logger: overrides.logger ?? silentLogger,
    config: { ...DEFAULT_LIFECYCLE, ...overrides.config },
  };
}
