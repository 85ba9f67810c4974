import type { CoreDeps } from './deps.js';
import { LaunchError, SandboxError } from './errors.js';
import { chatKeyOf, LIVE_STATUSES, type Session } from './model.js';
import { terminalPatch } from './transitions.js';

const LAUNCH_FAILED_RETRY_AFTER_SECONDS = 5;

/**
 * Launches a claimed session and records the task reference (steps 4 and 5 of get-or-create; the
 * reconciler re-issues it for sessions a crash left behind).
 *
 * - A launch that fails for good ends the session `failed` and throws `launch_failed`.
 * - A throttled launch leaves the session `provisioning`, due for the reconciler's retry.
 * - Any other error leaves the session `provisioning` for the reconciler and propagates.
 * - If the session stopped being current while launching (deleted meanwhile), the task just launched
 *   is stopped at once.
 *
 * Answers the session as stored after the record step.
 */
export async function launchAndRecord(deps: CoreDeps, session: Session): Promise<Session> {
  const { store, runtime, clock, config, logger } = deps;
  const key = chatKeyOf(session);
  const expect = { sessionId: session.sessionId, statusIn: LIVE_STATUSES };
  let ref: string;
  try {
    ({ ref } = await runtime.launch({
      tenant: session.tenant,
      chatId: session.chatId,
      sessionId: session.sessionId,
      agentId: session.agentId,
      profile: session.profile,
      env: session.env,
    }));
  } catch (error) {
    if (!(error instanceof LaunchError)) {
      logger.error('launch threw; the reconciler will retry it', {
        ...key,
        sessionId: session.sessionId,
        error,
      });
      throw error;
    }
    const now = clock.now();
    if (error.retryable) {
      logger.warn('launch throttled; the reconciler will retry it', {
        ...key,
        sessionId: session.sessionId,
        detail: error.message,
      });
      const deferred = await store.update(key, expect, {
        dueAt: now + config.launchRetrySeconds * 1000,
        statusDetail: error.message,
      });
      return deferred.ok ? deferred.session : (deferred.current ?? session);
    }
    logger.warn('launch failed', { ...key, sessionId: session.sessionId, detail: error.message });
    await store.update(key, expect, terminalPatch(now, 'failed', 'launch_failed', error.message, config));
    throw new SandboxError('launch_failed', 'The sandbox could not be started. Retry later.', {
      retryAfterSeconds: LAUNCH_FAILED_RETRY_AFTER_SECONDS,
      cause: error,
    });
  }

  const recorded = await store.update(key, expect, {
    runtimeRef: ref,
    launchAttempts: session.launchAttempts + 1,
  });
  if (recorded.ok) return recorded.session;
  logger.warn('session changed during launch; stopping the task just launched', {
    ...key,
    sessionId: session.sessionId,
    ref,
  });
  await runtime.stop(ref, 'session is no longer current');
  return recorded.current ?? session;
}
