/**
 * The session state machine, as one table: every transition with what triggers it, the states it may
 * leave, the state it enters, how its write is fenced, and the patch it writes. Get-or-create, the
 * runtime events and the reconciler all move sessions through `write(...)`, so the same transition
 * always writes the same shape under the same condition.
 *
 * Every write is conditional on the stored status being one of `from`, and on the fence:
 * - `version`: the session id and the version of the read that preceded the write (optimistic);
 * - `session`: the session id only (a write that follows the session's own launch, with no read);
 * - `status`: the status only, and the session id when the caller knows it (delete, shutdown).
 *
 * Two writes are not updates and live in the store: the claim of a new session (`claim`: the chat
 * has no item, or its item is still at the version read) and the reuse of a live one (`reuse`: live,
 * unexpired, same agent and profile, the new expiry within the lifetime and not before the due time).
 * They are listed in `STORE_WRITES` below with their conditions.
 */
import type { LifecycleConfig } from './lifecycle.js';
import {
  chatKeyOf,
  type Endpoint,
  LIVE_STATUSES,
  type SandboxStatus,
  type Session,
  type SessionPatch,
  type StopReason,
} from './model.js';
import type { Clock, SessionStore, UpdateResult, WriteExpectation } from './ports.js';

const SECOND = 1000;

/** What a transition needs beyond the session, the time and the configuration. */
export interface TransitionInputs {
  readonly touch: { readonly idleTimeoutSeconds: number };
  readonly recordLaunch: { readonly ref: string };
  readonly deferLaunch: { readonly detail: string };
  readonly failLaunch: { readonly detail: string };
  readonly promote: { readonly endpoint: Endpoint; readonly ref: string; readonly eventVersion?: number };
  readonly stop: { readonly reason: StopReason };
  readonly expire: Record<string, never>;
  readonly exit: { readonly detail: string; readonly eventVersion?: number };
  readonly confirmStop: { readonly detail: string | null };
  readonly retryStop: Record<string, never>;
  readonly failProvisioning: { readonly detail: string };
  readonly holdLaunch: Record<string, never>;
  readonly awaitHealthy: { readonly eventVersion?: number };
  readonly rearm: Record<string, never>;
  readonly announceExpiry: Record<string, never>;
  readonly settle: Record<string, never>;
  readonly clearDue: Record<string, never>;
}

export type TransitionName = keyof TransitionInputs;

/** The state a transition enters: a status, the one it was in (`same`), or one decided by that state. */
export type Target = SandboxStatus | 'same' | 'by state';

export interface Transition<I> {
  readonly trigger: string;
  readonly from: readonly SandboxStatus[];
  readonly to: Target;
  readonly fence: 'version' | 'session' | 'status';
  /** The patch; `session` is null only for `status`-fenced writes made without a read. */
  patch(session: Session | null, now: number, input: I, config: LifecycleConfig): SessionPatch;
}

type Table = { readonly [N in TransitionName]: Transition<TransitionInputs[N]> };

const STOPPABLE: readonly SandboxStatus[] = ['provisioning', 'running', 'stopping'];

/**
 * How long before its expiry a running session's expiry is announced: the expiring lead, or half
 * the idle timeout when that is shorter (so a sandbox with a short idle timeout is not announced as
 * expiring the moment it starts or is kept alive).
 */
function announceLeadMs(
  session: Pick<Session, 'idleTimeoutSeconds'>,
  config: Pick<LifecycleConfig, 'expiringLeadSeconds'>,
): number {
  return Math.min(config.expiringLeadSeconds, session.idleTimeoutSeconds / 2) * SECOND;
}

/**
 * When the reconciler must next look at a running session: at its expiry, or, while that expiry is
 * not announced yet, the announcement lead before it.
 */
export function runningDueAt(
  session: Pick<Session, 'expiresAt' | 'expiringAt' | 'idleTimeoutSeconds'>,
  config: Pick<LifecycleConfig, 'expiringLeadSeconds'>,
): number {
  const lead = announceLeadMs(session, config);
  return lead > 0 && session.expiringAt !== session.expiresAt ? session.expiresAt - lead : session.expiresAt;
}

/** Whether a running session's expiry is within the announcement lead and not announced yet. */
export function expiryToAnnounce(
  session: Pick<Session, 'status' | 'expiresAt' | 'expiringAt' | 'idleTimeoutSeconds'>,
  now: number,
  config: Pick<LifecycleConfig, 'expiringLeadSeconds'>,
): boolean {
  const lead = announceLeadMs(session, config);
  return (
    session.status === 'running' &&
    lead > 0 &&
    session.expiringAt !== session.expiresAt &&
    session.expiresAt - lead <= now
  );
}

/**
 * Ends a session. It stays in the due index (due at once) until it is settled: its capacity given
 * back and its usage added to the ledger (`settle`), so a crash in between is finished by the
 * reconciler's next pass.
 */
function terminal(
  now: number,
  status: 'stopped' | 'failed',
  reason: StopReason,
  detail: string | null,
  config: LifecycleConfig,
): SessionPatch {
  return {
    status,
    stopReason: reason,
    statusDetail: detail,
    stoppedAt: now,
    endpoint: null,
    dueAt: now,
    ttl: Math.floor(now / SECOND) + config.retentionSeconds,
  };
}

function stopping(now: number, reason: StopReason, config: LifecycleConfig): SessionPatch {
  return {
    status: 'stopping',
    stopReason: reason,
    dueAt: now + config.stopGraceSeconds * SECOND,
    stopAttempts: 1,
  };
}

/** `expiresAt` after activity at `now`: the idle timeout slides, the lifetime cap does not. */
export function slidingExpiry(now: number, idleTimeoutSeconds: number, maxExpiresAt: number): number {
  return Math.min(now + idleTimeoutSeconds * SECOND, maxExpiresAt);
}

const eventVersion = (version: number | undefined): SessionPatch =>
  version === undefined ? {} : { runtimeEventVersion: version };

/** A session that a write without a read (`status` fence) does not have; every other patch does. */
function read(session: Session | null): Session {
  if (!session) throw new Error('this transition needs the session as read');
  return session;
}

export const TRANSITIONS: Table = {
  touch: {
    trigger: 'keepalive; get-or-create on a live sandbox the one-write reuse could not take',
    from: LIVE_STATUSES,
    to: 'same',
    fence: 'version',
    // The expiry slides by the idle timeout (which becomes the session's), capped by the lifetime; a
    // shorter expiry also moves the reconciler's due time up.
    patch: (session, now, { idleTimeoutSeconds }, config) => {
      const current = read(session);
      const expiresAt = slidingExpiry(now, idleTimeoutSeconds, current.maxExpiresAt);
      const due =
        current.status === 'running'
          ? runningDueAt({ expiresAt, expiringAt: current.expiringAt, idleTimeoutSeconds }, config)
          : expiresAt;
      return {
        lastActiveAt: now,
        idleTimeoutSeconds,
        expiresAt,
        dueAt: Math.min(current.dueAt ?? due, due),
      };
    },
  },
  recordLaunch: {
    trigger: 'the runtime accepted the launch',
    from: LIVE_STATUSES,
    to: 'same',
    fence: 'session',
    patch: (session, _now, { ref }) => ({
      runtimeRef: ref,
      launchAttempts: read(session).launchAttempts + 1,
    }),
  },
  deferLaunch: {
    trigger: 'the runtime throttled the launch or had no capacity',
    from: LIVE_STATUSES,
    to: 'same',
    fence: 'session',
    patch: (_session, now, { detail }, config) => ({
      dueAt: now + config.launchRetrySeconds * SECOND,
      statusDetail: detail,
    }),
  },
  failLaunch: {
    trigger: 'the runtime refused the launch',
    from: LIVE_STATUSES,
    to: 'failed',
    fence: 'session',
    patch: (_session, now, { detail }, config) => terminal(now, 'failed', 'launch_failed', detail, config),
  },
  promote: {
    trigger: 'the task answers: a runtime event, or the reconciler asked the runtime',
    from: ['provisioning'],
    to: 'running',
    fence: 'version',
    // The idle timer starts now: a sandbox is not idle while it is still starting.
    patch: (session, now, { endpoint, ref, eventVersion: version }, config) => {
      const current = read(session);
      const expiresAt = Math.max(
        current.expiresAt,
        slidingExpiry(now, current.idleTimeoutSeconds, current.maxExpiresAt),
      );
      return {
        status: 'running',
        endpoint,
        runtimeRef: ref,
        runningAt: now,
        expiresAt,
        dueAt: runningDueAt({ ...current, expiresAt }, config),
        statusDetail: null,
        ...eventVersion(version),
      };
    },
  },
  stop: {
    trigger: 'delete; local mode shutting down; the orphan sweep stopping a task through its session',
    from: LIVE_STATUSES,
    to: 'stopping',
    fence: 'status',
    patch: (_session, now, { reason }, config) => stopping(now, reason, config),
  },
  expire: {
    trigger: 'reconciler: a live session past its expiresAt',
    from: LIVE_STATUSES,
    to: 'stopping',
    fence: 'version',
    patch: (_session, now, _input, config) => stopping(now, 'expired', config),
  },
  exit: {
    trigger: 'the task ended on its own: a runtime event, or the reconciler found it stopped or gone',
    from: STOPPABLE,
    to: 'by state',
    fence: 'version',
    // stopping -> stopped with the reason it was stopped for; provisioning -> failed (it never ran);
    // running -> stopped, exited.
    patch: (session, now, { detail, eventVersion: version }, config) => {
      const current = read(session);
      const patch =
        current.status === 'stopping'
          ? terminal(now, 'stopped', current.stopReason ?? 'exited', current.statusDetail, config)
          : current.status === 'provisioning'
            ? terminal(now, 'failed', 'launch_failed', detail, config)
            : terminal(now, 'stopped', 'exited', detail, config);
      return { ...patch, ...eventVersion(version) };
    },
  },
  confirmStop: {
    trigger: 'reconciler: stopping past its grace, and the task is gone or the stop attempts are spent',
    from: ['stopping'],
    to: 'stopped',
    fence: 'version',
    patch: (session, now, { detail }, config) =>
      terminal(now, 'stopped', read(session).stopReason ?? 'deleted', detail, config),
  },
  retryStop: {
    trigger: 'reconciler: stopping past its grace, the task still runs',
    from: ['stopping'],
    to: 'same',
    fence: 'version',
    patch: (session, now, _input, config) => ({
      stopAttempts: read(session).stopAttempts + 1,
      dueAt: now + config.stopGraceSeconds * SECOND,
    }),
  },
  failProvisioning: {
    trigger:
      'reconciler: provisioning past the provisioning timeout, its task stopped, or no task after the launch attempts',
    from: ['provisioning'],
    to: 'failed',
    fence: 'version',
    patch: (_session, now, { detail }, config) => terminal(now, 'failed', 'launch_failed', detail, config),
  },
  holdLaunch: {
    trigger:
      'reconciler: provisioning past its launch lease, the task is still starting or is launched again',
    from: ['provisioning'],
    to: 'same',
    fence: 'version',
    patch: (_session, now, _input, config) => ({ dueAt: now + config.launchLeaseSeconds * SECOND }),
  },
  awaitHealthy: {
    trigger:
      'the task runs but its health check has not passed yet (a runtime event, or the reconciler asked)',
    from: ['provisioning'],
    to: 'same',
    fence: 'version',
    // Looked at again soon, not at the end of the launch lease: health checks pass within seconds.
    patch: (_session, now, { eventVersion: version }, config) => ({
      dueAt: now + config.launchRetrySeconds * SECOND,
      statusDetail: 'waiting for the health check to pass',
      ...eventVersion(version),
    }),
  },
  rearm: {
    trigger:
      'reconciler: running and due but not expired (a reuse or keepalive moved the expiry), task alive',
    from: ['running'],
    to: 'same',
    fence: 'version',
    patch: (session, _now, _input, config) => ({ dueAt: runningDueAt(read(session), config) }),
  },
  announceExpiry: {
    trigger: 'reconciler: running, its expiry within the expiring lead and not announced yet',
    from: ['running'],
    to: 'same',
    fence: 'version',
    // The change of `expiringAt` is what the event stream turns into `Sandbox Expiring`.
    patch: (session) => ({ expiringAt: read(session).expiresAt, dueAt: read(session).expiresAt }),
  },
  settle: {
    trigger:
      'a session ended: its capacity is given back and its usage added to the ledger (one transaction); the reconciler retries',
    from: ['stopped', 'failed'],
    to: 'same',
    fence: 'session',
    patch: (_session, now) => ({ settledAt: now, dueAt: null }),
  },
  clearDue: {
    trigger: 'reconciler: a settled session still in the due index',
    from: ['stopped', 'failed'],
    to: 'same',
    fence: 'version',
    patch: () => ({ dueAt: null }),
  },
};

/** The conditional writes the store makes itself (not updates through `write`). */
export const STORE_WRITES = {
  claim: {
    trigger: 'get-or-create when the chat has no live, unexpired sandbox',
    from: ['(no item)', 'stopped', 'failed', 'stopping', 'provisioning or running past expiresAt'],
    condition: 'the chat has no item, or its item is still at the version read',
  },
  reuse: {
    trigger: 'get-or-create on a live sandbox (the hot path: one write)',
    from: LIVE_STATUSES,
    condition:
      'expiresAt > now, same agentId and profile, the new expiresAt <= maxExpiresAt and >= dueAt (or no dueAt)',
  },
} as const;

/** A store write: the condition on the stored item and the patch. */
export interface SessionWrite {
  readonly expect: WriteExpectation;
  readonly patch: SessionPatch;
}

/**
 * The write of transition `name` for `session` (as read) at `now`. For a `status`-fenced transition,
 * `session` may be a bare `{ sessionId }` or null: the write then needs no read.
 */
export function write<N extends TransitionName>(
  name: N,
  session: Session | null,
  now: number,
  input: TransitionInputs[N],
  config: LifecycleConfig,
  target: { readonly sessionId?: string } = {},
): SessionWrite {
  const transition = TRANSITIONS[name] as Transition<TransitionInputs[N]>;
  const sessionId = session?.sessionId ?? target.sessionId;
  let expect: WriteExpectation;
  if (transition.fence === 'status') {
    expect =
      sessionId === undefined ? { statusIn: transition.from } : { statusIn: transition.from, sessionId };
  } else {
    const current = read(session);
    expect =
      transition.fence === 'version'
        ? { sessionId: current.sessionId, version: current.version, statusIn: transition.from }
        : { sessionId: current.sessionId, statusIn: transition.from };
  }
  return { expect, patch: transition.patch(session, now, input, config) };
}

/** Makes transition `name` of `session` in the store; answers the store's result. */
export function move<N extends TransitionName>(
  deps: {
    readonly store: Pick<SessionStore, 'update'>;
    readonly clock: Clock;
    readonly config: LifecycleConfig;
  },
  name: N,
  session: Session,
  input: TransitionInputs[N],
): Promise<UpdateResult> {
  const { expect, patch } = write(name, session, deps.clock.now(), input, deps.config);
  return deps.store.update(chatKeyOf(session), expect, patch);
}
