/**
 * The sandbox session: the state a chat's sandbox is in, as the session store keeps it.
 * Times are epoch milliseconds inside the domain; the HTTP layer renders them as ISO 8601.
 */

/** Statuses in lifecycle order. `stopped` and `failed` are terminal. */
export const SANDBOX_STATUSES = ['provisioning', 'running', 'stopping', 'stopped', 'failed'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

/** Statuses that hold the chat's lock: at most one session per chat is in one of these. */
export const LIVE_STATUSES: readonly SandboxStatus[] = ['provisioning', 'running'];

/** Statuses that hold capacity: the sandbox may still run. */
export const COUNTED_STATUSES: readonly SandboxStatus[] = ['provisioning', 'running', 'stopping'];

/** Why a session stopped. `shutdown` is local mode only: the control plane process was stopped. */
export const STOP_REASONS = [
  'deleted',
  'expired',
  'exited',
  'launch_failed',
  'replaced',
  'shutdown',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** What an agent id may be: 1-128 characters from A-Z a-z 0-9 . _ : - */
export const AGENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Tenant ids (the authenticated principal) become part of keys and cursors, so they are restricted to
 * a safe alphabet that cannot forge another tenant's keys.
 */
export const TENANT_PATTERN = /^[A-Za-z0-9._:/@+=,-]{1,256}$/;

/** Identifies a chat within a tenant: the unit of locking and of storage. */
export interface ChatKey {
  readonly tenant: string;
  /** Canonical lowercase hyphenated UUID. */
  readonly chatId: string;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface Session {
  readonly tenant: string;
  readonly chatId: string;
  /** Unique per session; the fencing token of every write and the runtime's idempotency token. */
  readonly sessionId: string;
  readonly agentId: string;
  readonly profile: string;
  /** The end user the sandbox is for: the chat's owner, when it has one. */
  readonly ownerId: string | null;
  readonly status: SandboxStatus;
  readonly endpoint: Endpoint | null;
  /** The runtime's handle of the launched task or process, once recorded. */
  readonly runtimeRef: string | null;
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly expiresAt: number;
  readonly maxExpiresAt: number;
  readonly idleTimeoutSeconds: number;
  /** When the sandbox became `running` (the start of its metered run time); null if it never did. */
  readonly runningAt: number | null;
  readonly stoppedAt: number | null;
  /**
   * The expiry (`expiresAt`) a `Sandbox Expiring` event announced; null until one did. An expiry
   * moved on by a reuse or keepalive is announced again when it comes near.
   */
  readonly expiringAt: number | null;
  /**
   * When the ended session's capacity was given back and its usage added to the ledger; null until
   * then (a terminal session stays due for the reconciler until it is settled).
   */
  readonly settledAt: number | null;
  /**
   * The usage of the predecessors this session replaced before they were settled (the claim
   * overwrote their record), with what they carried in turn, one entry per owner and day: added to
   * the ledger when this session is settled, so no run time is lost or counted twice.
   */
  readonly replacedUsage: readonly ReplacedUsage[] | null;
  readonly stopReason: StopReason | null;
  /** Human-readable detail of a failure or an exit, for operators; never a stack trace. */
  readonly statusDetail: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** Environment given at creation; kept so the reconciler can re-issue the launch. Never returned by the API. */
  readonly env: Readonly<Record<string, string>>;
  /** Incremented by every write; the optimistic-concurrency check of read-then-write paths. */
  readonly version: number;
  /** When the reconciler must next look at this session; null once terminal. */
  readonly dueAt: number | null;
  /**
   * Launches the runtime accepted for this session. Throttled or failed calls do not count: a launch
   * that keeps being throttled is bounded by the provisioning timeout instead.
   */
  readonly launchAttempts: number;
  /** How many times a stop was issued for this session. */
  readonly stopAttempts: number;
  /** Version of the last runtime event applied (ECS `detail.version`), to drop repeated or older events. */
  readonly runtimeEventVersion: number | null;
  /** Epoch seconds after which the store may delete a terminal record; null while live. */
  readonly ttl: number | null;
}

/** Replaced predecessors' usage of one owner and day, kept on their successor until it is settled. */
export interface ReplacedUsage {
  readonly ownerId: string | null;
  readonly day: string;
  /** How many sessions the entry sums. */
  readonly sessions: number;
  readonly sandboxSeconds: number;
  readonly vcpuSeconds: number;
  readonly gibSeconds: number;
}

/** The fields a transition may change. */
export type SessionPatch = Partial<
  Pick<
    Session,
    | 'status'
    | 'endpoint'
    | 'runtimeRef'
    | 'lastActiveAt'
    | 'expiresAt'
    | 'idleTimeoutSeconds'
    | 'runningAt'
    | 'stoppedAt'
    | 'expiringAt'
    | 'settledAt'
    | 'stopReason'
    | 'statusDetail'
    | 'dueAt'
    | 'launchAttempts'
    | 'stopAttempts'
    | 'runtimeEventVersion'
    | 'ttl'
  >
>;

export function isLive(session: Pick<Session, 'status'>): boolean {
  return LIVE_STATUSES.includes(session.status);
}

export function isTerminal(session: Pick<Session, 'status'>): boolean {
  return session.status === 'stopped' || session.status === 'failed';
}

export function chatKeyOf(session: Pick<Session, 'tenant' | 'chatId'>): ChatKey {
  return { tenant: session.tenant, chatId: session.chatId };
}
