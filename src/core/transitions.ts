/**
 * The patches that move a session between states, in one place so every path (API, runtime events,
 * reconciler) writes the same shape for the same transition.
 */
import type { LifecycleConfig } from './config.js';
import type { Endpoint, SandboxStatus, Session, SessionPatch, StopReason } from './model.js';

const SECOND = 1000;

/** Moves a live session to `stopping`; the reconciler checks on the stop after the grace. */
export function stoppingPatch(now: number, reason: StopReason, config: LifecycleConfig): SessionPatch {
  return {
    status: 'stopping',
    stopReason: reason,
    dueAt: now + config.stopGraceSeconds * SECOND,
    stopAttempts: 1,
  };
}

/** Ends a session: clears the due index, sets the TTL that ages the record out. */
export function terminalPatch(
  now: number,
  status: Extract<SandboxStatus, 'stopped' | 'failed'>,
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
    dueAt: null,
    ttl: Math.floor(now / SECOND) + config.retentionSeconds,
  };
}

/**
 * A provisioning session whose task answers: it is running, and due again when it expires. The idle
 * timer starts now: a sandbox is not idle while it is still starting.
 */
export function runningPatch(session: Session, endpoint: Endpoint, ref: string, now: number): SessionPatch {
  const expiresAt = Math.max(
    session.expiresAt,
    slidingExpiry(now, session.idleTimeoutSeconds, session.maxExpiresAt),
  );
  return { status: 'running', endpoint, runtimeRef: ref, expiresAt, dueAt: expiresAt, statusDetail: null };
}

/** The patch that ends a session whose task stopped on its own, by the state it was in. */
export function exitedPatch(
  session: Session,
  now: number,
  detail: string,
  config: LifecycleConfig,
): SessionPatch {
  if (session.status === 'stopping') {
    return terminalPatch(now, 'stopped', session.stopReason ?? 'exited', session.statusDetail, config);
  }
  if (session.status === 'provisioning') {
    return terminalPatch(now, 'failed', 'launch_failed', detail, config);
  }
  return terminalPatch(now, 'stopped', 'exited', detail, config);
}

/**
 * Activity on a live session at `now`: the expiry slides by `idleTimeoutSeconds` (which becomes the
 * session's), capped by the lifetime; a shorter expiry also moves the reconciler's due time up.
 */
export function touchPatch(session: Session, now: number, idleTimeoutSeconds: number): SessionPatch {
  const expiresAt = slidingExpiry(now, idleTimeoutSeconds, session.maxExpiresAt);
  return {
    lastActiveAt: now,
    idleTimeoutSeconds,
    expiresAt,
    dueAt: Math.min(session.dueAt ?? expiresAt, expiresAt),
  };
}

/** `expiresAt` after activity at `now`: the idle timeout slides, the lifetime cap does not. */
export function slidingExpiry(now: number, idleTimeoutSeconds: number, maxExpiresAt: number): number {
  return Math.min(now + idleTimeoutSeconds * SECOND, maxExpiresAt);
}
