import type { CoreDeps } from './deps.js';
import { isTerminal } from './model.js';
import type { RuntimeEvent } from './ports.js';
import { exitedPatch, runningPatch } from './transitions.js';

export type RuntimeEventOutcome = 'applied' | 'ignored' | 'stopped_stray_task';

const MAX_ROUNDS = 5;

/**
 * Applies what the runtime reports about a task to its session. Events may repeat or come out of
 * order: one for another session, or not newer than the last applied `version`, changes nothing.
 * A task reported running for a session that is not (or no longer) the chat's live one is stopped.
 */
export async function onRuntimeEvent(deps: CoreDeps, event: RuntimeEvent): Promise<RuntimeEventOutcome> {
  const { store, runtime, clock, config, logger } = deps;
  const key = { tenant: event.tenant, chatId: event.chatId };
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const session = await store.get(key);
    const current = session?.sessionId === event.sessionId ? session : null;
    const taskIsStray = !current || isTerminal(current);
    if (event.kind === 'running' && taskIsStray) {
      logger.warn('task running for a session that is not live; stopping it', {
        ...key,
        sessionId: event.sessionId,
        ref: event.ref,
      });
      await runtime.stop(event.ref, 'not the live session of its chat');
      return 'stopped_stray_task';
    }
    if (!current || isTerminal(current)) return 'ignored';
    if (
      event.version !== undefined &&
      current.runtimeEventVersion !== null &&
      event.version <= current.runtimeEventVersion
    ) {
      return 'ignored';
    }
    const versionPatch = event.version === undefined ? {} : { runtimeEventVersion: event.version };
    let patch: Parameters<typeof store.update>[2];
    if (event.kind === 'running') {
      if (current.status !== 'provisioning') return 'ignored';
      patch = { ...runningPatch(current, event.endpoint, event.ref, clock.now()), ...versionPatch };
    } else {
      patch = { ...exitedPatch(current, clock.now(), event.reason, config), ...versionPatch };
    }
    const written = await store.update(
      key,
      { sessionId: current.sessionId, version: current.version },
      patch,
    );
    if (written.ok) return 'applied';
  }
  logger.warn('runtime event lost every round to concurrent writes', { ...key, sessionId: event.sessionId });
  return 'ignored';
}
