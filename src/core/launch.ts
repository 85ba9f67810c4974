import type { CoreDeps } from './deps.js';
import { LaunchError, SandboxError } from './errors.js';
import { chatKeyOf, type Session } from './model.js';
import { settleOrLeave } from './settle.js';
import { move } from './state-machine.js';

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
  const { runtime, logger } = deps;
  const about = { ...chatKeyOf(session), sessionId: session.sessionId };
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
      logger.error('launch threw; the reconciler will retry it', { ...about, error });
      throw error;
    }
    if (error.retryable) {
      logger.warn('launch throttled; the reconciler will retry it', { ...about, detail: error.message });
      const deferred = await move(deps, 'deferLaunch', session, { detail: error.message });
      return deferred.ok ? deferred.session : (deferred.current ?? session);
    }
    logger.warn('launch failed', { ...about, detail: error.message });
    const failed = await move(deps, 'failLaunch', session, { detail: error.message });
    if (failed.ok) await settleOrLeave(deps, failed.session);
    throw new SandboxError('launch_failed', 'The sandbox could not be started. Retry later.', {
      retryAfterSeconds: LAUNCH_FAILED_RETRY_AFTER_SECONDS,
      cause: error,
    });
  }

  const recorded = await move(deps, 'recordLaunch', session, { ref });
  if (recorded.ok) return recorded.session;
  logger.warn('session changed during launch; stopping the task just launched', { ...about, ref });
  await runtime.stop(ref, 'session is no longer current');
  return recorded.current ?? session;
}
