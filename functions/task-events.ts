/** Lambda entry: EventBridge "ECS Task State Change" -> core runtime events. */
import { translateTaskEvent } from '../src/adapters/ecs/task-events.js';
import { createAwsDeps } from '../src/config/aws-deps.js';
import { onRuntimeEvent } from '../src/core/runtime-events.js';
import { countWith } from '../src/observability/metrics.js';
import { instrument } from '../src/observability/powertools.js';

const deps = createAwsDeps('sandbox-task-events');
const { logger, metrics } = deps.observability;

export const handler = instrument(
  deps.observability,
  (event: { id?: string }) => event.id,
  async (event) => {
    const translated = await translateTaskEvent(event, deps.taskEvents);
    if (translated.kind === 'ignored') {
      logger.info('task event ignored', { reason: translated.reason, ...translated.detail });
      countWith(metrics, 'TaskEvents', 'outcome', translated.reason);
      return { outcome: 'ignored' as const, reason: translated.reason };
    }
    const outcome = await onRuntimeEvent(deps.core, translated.event);
    logger.info('task event handled', { outcome, ...translated.event });
    countWith(metrics, 'TaskEvents', 'outcome', outcome);
    return { outcome };
  },
);
