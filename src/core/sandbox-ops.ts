import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { idleTimeoutError } from './lifecycle.js';
import { type ChatKey, chatKeyOf, isLive, type Session, type StopReason } from './model.js';
import type { ListQuery, LiveTask, Page } from './ports.js';
import { move, write } from './state-machine.js';

/**
 * A long-poll reads (strongly consistent) every 50 ms for its first second, then doubles the gap up
 * to 250 ms: a local sandbox is ready in tens of milliseconds, a Fargate task in tens of seconds.
 */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 250;
/** Polls this close together for the first second: a local sandbox is ready within it. */
const EAGER_POLL_WINDOW_MS = 1_000;
/** Rounds of read-then-write before a keepalive or delete gives up under contention. */
const MAX_ROUNDS = 5;

function notFound(): SandboxError {
  return new SandboxError('sandbox_not_found', 'The chat has no sandbox.');
}

/**
 * Holds until the session leaves `provisioning` or the clock reaches `waitUntil` (epoch ms), and
 * answers it as last read. Stops early, answering the chat's new item, if the chat moves on to
 * another session (or answers the last read if the item is gone).
 */
export async function waitWhileProvisioning(
  { store, clock }: CoreDeps,
  session: Session,
  waitUntil: number | undefined,
): Promise<Session> {
  const deadline = waitUntil ?? 0;
  let current = session;
  const eagerUntil = clock.now() + EAGER_POLL_WINDOW_MS;
  let gap = FIRST_POLL_MS;
  while (current.status === 'provisioning' && clock.now() < deadline) {
    await clock.sleep(Math.min(gap, deadline - clock.now()));
    if (clock.now() >= eagerUntil) gap = Math.min(gap * 2, MAX_POLL_MS);
    const read = await store.get(chatKeyOf(session));
    if (!read) break;
    current = read;
    if (read.sessionId !== session.sessionId) break;
  }
  return current;
}

/** The chat's latest session, live or terminal; with `waitUntil` (epoch ms), held while it is provisioning. */
export async function getSandbox(deps: CoreDeps, key: ChatKey, waitUntil?: number): Promise<Session> {
  const session = await deps.store.get(key);
  if (!session) throw notFound();
  return waitWhileProvisioning(deps, session, waitUntil);
}

export type DeleteResult =
  | { readonly result: 'deleted'; readonly session: Session }
  | { readonly result: 'not_found' };

/**
 * Stops the chat's live sandbox: one conditional write to `stopping`, then the runtime stop. The
 * runtime's stopped event (or the reconciler after the grace) makes it `stopped`. Chat storage stays.
 * With `sessionId`, only that session is stopped.
 */
export async function deleteSandbox(
  deps: CoreDeps,
  key: ChatKey,
  options: { reason?: StopReason; sessionId?: string } = {},
): Promise<DeleteResult> {
  const { store, runtime, clock, config, logger } = deps;
  const reason = options.reason ?? 'deleted';
  // One write, no read first: conditional on the status (and the session, when one is named).
  const { expect, patch } = write(
    'stop',
    null,
    clock.now(),
    { reason },
    config,
    options.sessionId ? { sessionId: options.sessionId } : {},
  );
  const stopping = await store.update(key, expect, patch);
  if (!stopping.ok) return { result: 'not_found' };
  const session = stopping.session;
  if (session.runtimeRef) {
    await runtime.stop(session.runtimeRef, reason).catch((error: unknown) => {
      logger.warn('stop failed; the reconciler will retry it', {
        ...key,
        sessionId: session.sessionId,
        error,
      });
    });
  }
  return { result: 'deleted', session };
}

/**
 * Pushes a live, unexpired sandbox's expiry out by its idle timeout (or the one given, which then
 * becomes the session's), capped by `maxExpiresAt`.
 */
export async function keepalive(deps: CoreDeps, key: ChatKey, idleTimeoutSeconds?: number): Promise<Session> {
  const { store, clock, config } = deps;
  const invalid = idleTimeoutSeconds === undefined ? null : idleTimeoutError(config, idleTimeoutSeconds);
  if (invalid)
    throw new SandboxError('validation_failed', 'The request body is invalid.', { errors: [invalid] });
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const current = await store.get(key);
    const now = clock.now();
    if (!current || !isLive(current) || current.expiresAt <= now) throw notFound();
    const touched = await move(deps, 'touch', current, {
      idleTimeoutSeconds: idleTimeoutSeconds ?? current.idleTimeoutSeconds,
    });
    if (touched.ok) return touched.session;
  }
  throw new SandboxError('capacity_unavailable', 'The chat is busy with concurrent requests. Retry.', {
    retryAfterSeconds: 1,
  });
}

/** The tenant's sandboxes, newest first. */
export function listSandboxes(deps: CoreDeps, tenant: string, query: ListQuery): Promise<Page<Session>> {
  return deps.store.listByTenant(tenant, query);
}

/**
 * Stops the given runtime tasks through their sessions (recorded `stopping` with `reason`, then
 * `stopped` by the runtime's event); a task whose session is not live is stopped all the same.
 */
export async function stopLiveSandboxes(
  deps: CoreDeps,
  tasks: readonly LiveTask[],
  reason: StopReason,
): Promise<void> {
  await Promise.all(
    tasks.map(async (task) => {
      const key = { tenant: task.tenant, chatId: task.chatId };
      await deleteSandbox(deps, key, { reason, sessionId: task.sessionId });
      // Also when the session had no task recorded yet, or is not live: stop is idempotent.
      await deps.runtime.stop(task.ref, reason);
    }),
  );
}
