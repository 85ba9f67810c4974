/**
 * Lifecycle events (docs/events.md): what a consumer learns about a sandbox without polling.
 *
 * Events are derived from the session record's changes, never written by the code that changes it:
 * `eventsOfChange` turns one change of a chat's record (its image before and after, as the table's
 * change stream carries it) into the events it means. A record changed without a change of status
 * or of its announced expiry (a reuse, a keepalive, a recorded launch) means no event, so the hot
 * path stays one write. Each event carries the session record's version at that change as
 * `sequence`, strictly increasing per session, and an `id` built from it, so consumers can order
 * events and drop duplicates of an at-least-once delivery.
 */
import type { SandboxStatus, Session, StopReason } from './model.js';
import { isTerminal } from './model.js';

/** `detail-type` of a change of status. */
export const STATE_CHANGE = 'Sandbox State Change';
/** `detail-type` of an expiry announced ahead of time. */
export const EXPIRING = 'Sandbox Expiring';
/** The version of the detail's shape; a field is only ever added within one version. */
export const EVENT_SCHEMA_VERSION = '1';

export type SandboxEventType = typeof STATE_CHANGE | typeof EXPIRING;

/** What every event says about its sandbox; times are ISO 8601. */
export interface SandboxEventDetail {
  readonly schemaVersion: typeof EVENT_SCHEMA_VERSION;
  readonly tenant: string;
  readonly ownerId: string | null;
  readonly chatId: string;
  readonly sessionId: string;
  readonly agentId: string;
  readonly profile: string;
  readonly status: SandboxStatus;
  /** The status before this change; null for a new session. */
  readonly previousStatus: SandboxStatus | null;
  readonly stopReason: StopReason | null;
  readonly endpoint: { readonly host: string; readonly port: number } | null;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly expiresAt: string;
  readonly maxExpiresAt: string;
  readonly runningAt: string | null;
  readonly stoppedAt: string | null;
  /** The session record's version at this change: strictly increasing per session. */
  readonly sequence: number;
  /** `Sandbox Expiring` only: which limit the coming expiry is. */
  readonly expiry?: 'idle' | 'lifetime';
}

export interface SandboxEvent {
  /** `<sessionId>/<sequence>/<state|expiring>`: the same change always has the same id. */
  readonly id: string;
  readonly type: SandboxEventType;
  /** When the change was made (ISO 8601). */
  readonly time: string;
  readonly detail: SandboxEventDetail;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function event(
  type: SandboxEventType,
  session: Session,
  at: number,
  fields: {
    readonly previousStatus: SandboxStatus | null;
    readonly sequence: number;
    readonly status?: SandboxStatus;
    readonly stopReason?: StopReason | null;
    readonly stoppedAt?: number | null;
    readonly expiry?: 'idle' | 'lifetime';
  },
): SandboxEvent {
  const stoppedAt = fields.stoppedAt === undefined ? session.stoppedAt : fields.stoppedAt;
  const detail: SandboxEventDetail = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    tenant: session.tenant,
    ownerId: session.ownerId,
    chatId: session.chatId,
    sessionId: session.sessionId,
    agentId: session.agentId,
    profile: session.profile,
    status: fields.status ?? session.status,
    previousStatus: fields.previousStatus,
    stopReason: fields.stopReason === undefined ? session.stopReason : fields.stopReason,
    endpoint: fields.status && isTerminal({ status: fields.status }) ? null : session.endpoint,
    createdAt: iso(session.createdAt),
    lastActiveAt: iso(session.lastActiveAt),
    expiresAt: iso(session.expiresAt),
    maxExpiresAt: iso(session.maxExpiresAt),
    runningAt: session.runningAt === null ? null : iso(session.runningAt),
    stoppedAt: stoppedAt === null ? null : iso(stoppedAt),
    sequence: fields.sequence,
    ...(fields.expiry ? { expiry: fields.expiry } : {}),
  };
  const kind = type === STATE_CHANGE ? 'state' : 'expiring';
  return { id: `${session.sessionId}/${fields.sequence}/${kind}`, type, time: iso(at), detail };
}

/** The event of a new session: its first status, nothing before it. */
function started(session: Session, at: number): SandboxEvent {
  return event(STATE_CHANGE, session, at, { previousStatus: null, sequence: session.version });
}

/**
 * The events one change of a chat's record means, in order. `before` and `after` are the record's
 * images (null when it did not exist, or no longer does); `at` is when the change was made.
 *
 * - a new record: the new session's first status;
 * - a record claimed over another session's (a replacement): that session's end, `stopped` with
 *   `stopReason: "replaced"` unless it had ended already, then the new session's first status;
 * - a change of status: the new status, with the one before it;
 * - a change of the announced expiry (`expiringAt`) of a running session: `Sandbox Expiring`;
 * - a record removed (TTL, purge) while its session had not ended: `stopped` (`deleted`);
 * - anything else: nothing.
 */
export function eventsOfChange(before: Session | null, after: Session | null, at: number): SandboxEvent[] {
  if (!before) return after ? [started(after, at)] : [];
  if (!after) {
    if (isTerminal(before)) return [];
    return [
      event(STATE_CHANGE, before, at, {
        previousStatus: before.status,
        sequence: before.version + 1,
        status: 'stopped',
        stopReason: 'deleted',
        stoppedAt: at,
      }),
    ];
  }
  if (before.sessionId !== after.sessionId) {
    const ended = isTerminal(before)
      ? []
      : [
          event(STATE_CHANGE, before, at, {
            previousStatus: before.status,
            sequence: before.version + 1,
            status: 'stopped',
            stopReason: 'replaced',
            stoppedAt: at,
          }),
        ];
    return [...ended, started(after, at)];
  }
  const events: SandboxEvent[] = [];
  if (before.status !== after.status) {
    events.push(event(STATE_CHANGE, after, at, { previousStatus: before.status, sequence: after.version }));
  }
  if (after.status === 'running' && after.expiringAt !== null && after.expiringAt !== before.expiringAt) {
    events.push(
      event(EXPIRING, after, at, {
        previousStatus: before.status,
        sequence: after.version,
        expiry: after.expiringAt >= after.maxExpiresAt ? 'lifetime' : 'idle',
      }),
    );
  }
  return events;
}
