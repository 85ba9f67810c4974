import type { CoreDeps } from './deps.js';
import { needsHealthCheck } from './lifecycle.js';
import { isTerminal } from './model.js';
import type { RuntimeEvent, SandboxRuntime } from './ports.js';
import { settleOrLeave } from './settle.js';
import { move } from './state-machine.js';

export type RuntimeEventOutcome = 'applied' | 'ignored' | 'stopped_stray_task' | 'waiting_for_health';

/** What applying a runtime event needs: no launches, so only the runtime's `stop`. */
export type RuntimeEventDeps = Pick<CoreDeps, 'store' | 'quotas' | 'clock' | 'config' | 'logger'> & {
  readonly runtime: Pick<SandboxRuntime, 'stop'>;
};

const MAX_ROUNDS = 5;

/**
 * Applies what the runtime reports about a task to its session. Events may repeat or come out of
 * order: one for another session, or not newer than the last applied `version`, changes nothing.
 * A task reported running for a session that is not (or no longer) the chat's live one is stopped.
 */
export async function onRuntimeEvent(
  deps: RuntimeEventDeps,
  event: RuntimeEvent,
): Promise<RuntimeEventOutcome> {
  const { store, runtime, logger } = deps;
  const key = { tenant: event.tenant, chatId: event.chatId };
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const session = await store.get(key);
    const current = session?.sessionId === event.sessionId && !isTerminal(session) ? session : null;
    if (event.kind === 'running' && !current) {
      logger.warn('task running for a session that is not live; stopping it', {
        ...key,
        sessionId: event.sessionId,
        ref: event.ref,
      });
      await runtime.stop(event.ref, 'not the live session of its chat');
      return 'stopped_stray_task';
    }
    if (!current) return 'ignored';
    if (
      event.version !== undefined &&
      current.runtimeEventVersion !== null &&
      event.version <= current.runtimeEventVersion
    ) {
      return 'ignored';
    }
    const unhealthy =
      event.kind === 'running' &&
      needsHealthCheck(deps.config, current.profile) &&
      event.health !== 'healthy';
    if (unhealthy && current.status === 'provisioning') {
      // Running, not answering its health check yet: the reconciler looks again soon.
      const waiting = await move(deps, 'awaitHealthy', current, {
        ...(event.version === undefined ? {} : { eventVersion: event.version }),
      });
      if (waiting.ok) return 'waiting_for_health';
      continue;
    }
    const written =
      event.kind === 'running'
        ? current.status === 'provisioning'
          ? await move(deps, 'promote', current, {
              endpoint: event.endpoint,
              ref: event.ref,
              ...(event.version === undefined ? {} : { eventVersion: event.version }),
            })
          : null
        : await move(deps, 'exit', current, {
            detail: event.reason,
            ...(event.version === undefined ? {} : { eventVersion: event.version }),
          });
    if (!written) return 'ignored';
    if (written.ok) {
      if (isTerminal(written.session)) await settleOrLeave(deps, written.session);
      return 'applied';
    }
  }
  logger.warn('runtime event lost every round to concurrent writes', { ...key, sessionId: event.sessionId });
  return 'ignored';
}
