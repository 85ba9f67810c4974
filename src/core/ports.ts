/**
 * Ports: what core needs from the outside world. Adapters in src/adapters implement them; core never
 * imports an SDK.
 */
import type { ChatKey, Endpoint, SandboxStatus, Session, SessionPatch } from './model.js';
import type { QuotaScope, UsageRecord } from './quota-ports.js';

/** Usage to add to one scope's day totals. */
export interface ScopedUsage {
  readonly scope: QuotaScope;
  readonly usage: UsageRecord;
  /** How many sessions `usage` sums. */
  readonly sessions: number;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface IdGenerator {
  sessionId(): string;
}

export type ReuseResult = { readonly ok: true; readonly session: Session } | ReuseMiss;
export interface ReuseMiss {
  readonly ok: false;
  /** The item as it stood when the condition failed; null when the chat has none. */
  readonly current: Session | null;
}

export interface ReuseRequest {
  readonly agentId: string;
  readonly profile: string;
  /** When given, the session must be this owner's. */
  readonly ownerId?: string;
  readonly now: number;
  readonly expiresAt: number;
  readonly idleTimeoutSeconds: number;
}

/** What a conditional write expects of the stored item. */
export interface WriteExpectation {
  /** The fencing token; absent only where any session in `statusIn` may be changed (delete). */
  readonly sessionId?: string;
  readonly version?: number;
  readonly statusIn?: readonly SandboxStatus[];
}

export type UpdateResult =
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly current: Session | null };

export type ClaimResult =
  | { readonly ok: true; readonly previous: Session | null }
  /** Another writer got there first: the chat's item as it stood (null if it is gone again). */
  | { readonly ok: false; readonly current: Session | null };

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface ListQuery {
  readonly statuses?: readonly SandboxStatus[];
  readonly agentId?: string;
  readonly ownerId?: string;
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * The session store: one record per chat, every write conditional. Implemented over DynamoDB.
 * Methods report a lost condition as a result, never as an exception.
 */
export interface SessionStore {
  get(key: ChatKey): Promise<Session | null>;
  /** Strongly consistent reads of many chats' items, in batches; answers them in the order asked. */
  getMany(keys: readonly ChatKey[]): Promise<(Session | null)[]>;
  /**
   * The reuse path, one write: sets `lastActiveAt = now`, `expiresAt` and `idleTimeoutSeconds` (and
   * increments `version`) if and only if the chat's session is `provisioning` or `running`,
   * `expiresAt > now`, `agentId` and `profile` are the request's, the new `expiresAt` is at most
   * `maxExpiresAt`, it is not before `dueAt` (a session without `dueAt` passes: a shorter expiry
   * must move the reconciler's due time too, which is `touch`'s job), and, when the request names
   * one, `ownerId` is the request's. A miss answers the item as it stood.
   */
  reuse(key: ChatKey, request: ReuseRequest): Promise<ReuseResult>;
  /**
   * Writes a new session, provided the chat has no item (`expectedVersion` null) or its item is still
   * at `expectedVersion`. Answers the item it replaced. A chat's first claim (`expectedVersion`
   * null) also fails while the chat's record carries a purge mark: checked in the same write, so a
   * purge that began after the caller read the record still turns it away.
   */
  claim(session: Session, expectedVersion: number | null): Promise<ClaimResult>;
  /**
   * Applies `patch` (and increments `version`) if the item exists and meets every part of `expect`:
   * its `sessionId`, its `version`, its status one of `statusIn`. A miss answers the item as it stood.
   */
  update(key: ChatKey, expect: WriteExpectation, patch: SessionPatch): Promise<UpdateResult>;
  /**
   * Settles an ended session in one transaction: the `settle` transition's write (conditional on
   * `expect`, and on the session not being settled yet) and `usage` added to each scope's day
   * totals. Answers false, changing nothing, when the condition does not hold (settled already, or
   * not the chat's session any more).
   */
  settle(
    key: ChatKey,
    expect: WriteExpectation,
    patch: SessionPatch,
    usage: readonly ScopedUsage[],
  ): Promise<boolean>;
  /** Sessions whose `dueAt` is at or before `dueBy`, across all shards, in pages. */
  listDue(dueBy: number): AsyncIterable<Session>;
  /** A tenant's sessions, newest first, with an opaque cursor. */
  listByTenant(tenant: string, query: ListQuery): Promise<Page<Session>>;
  /** Takes the named lease until `until` unless another holder has it unexpired. */
  acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
}

export interface LaunchSpec {
  readonly tenant: string;
  readonly chatId: string;
  readonly sessionId: string;
  readonly agentId: string;
  readonly profile: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface LaunchResult {
  /** The runtime's handle: an ECS task ARN, a local process id. */
  readonly ref: string;
}

/**
 * What a task's health check says: `starting` while it has not passed yet (or the task has none),
 * `healthy` once it passed, `unhealthy` after it failed its retries.
 */
export type TaskHealth = 'starting' | 'healthy' | 'unhealthy';

export type TaskState =
  | { readonly status: 'pending' }
  | { readonly status: 'running'; readonly endpoint: Endpoint; readonly health?: TaskHealth }
  | { readonly status: 'stopped'; readonly reason: string }
  /** The runtime does not know the task (yet, or any more). */
  | { readonly status: 'missing' };

/** A task the runtime runs for a session (which may or may not be the chat's live one). */
export interface LiveTask {
  readonly ref: string;
  readonly tenant: string;
  readonly chatId: string;
  readonly sessionId: string;
  readonly startedAt: number;
}

/**
 * A task the runtime runs that names no session this control plane knows: started by hand or by
 * another deployment in the same cluster, or for a tenant the tenant directory has no record of.
 */
export interface StrangerTask {
  readonly ref: string;
  readonly startedAt: number;
  /** What the runtime knows of its origin, for the log line (ECS `startedBy`). */
  readonly label: string | null;
}

/** Everything the runtime runs, for the orphan sweep. */
export interface RuntimeInventory {
  readonly tasks: readonly LiveTask[];
  readonly strangers: readonly StrangerTask[];
}

/** Where sandboxes run: ECS Fargate on AWS, local processes on a laptop. */
export interface SandboxRuntime {
  /**
   * Starts the sandbox. Idempotent per `sessionId`: a repeated call answers the same task.
   * Throws `LaunchError` when the launch did not start.
   */
  launch(spec: LaunchSpec): Promise<LaunchResult>;
  describe(ref: string): Promise<TaskState>;
  /** Asks the task to stop. A task that is missing or already stopped is a success. */
  stop(ref: string, reason: string): Promise<void>;
  /** Every task the runtime runs in its cluster (or data folder), for the orphan sweep. */
  inventory(): Promise<RuntimeInventory>;
}

/** A change the runtime reports about a task: from ECS events on AWS, in-process locally. */
export type RuntimeEvent =
  | (RuntimeEventBase & {
      readonly kind: 'running';
      readonly endpoint: Endpoint;
      readonly health?: TaskHealth;
    })
  | (RuntimeEventBase & { readonly kind: 'stopped'; readonly reason: string });

interface RuntimeEventBase {
  readonly tenant: string;
  readonly chatId: string;
  readonly sessionId: string;
  readonly ref: string;
  /** Monotonic per task where the runtime has one (ECS `detail.version`). */
  readonly version?: number;
}

/** Structured log lines; Powertools' Logger satisfies it. */
export interface Logger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
