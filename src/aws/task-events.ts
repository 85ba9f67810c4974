/**
 * The task-events function: EventBridge "ECS Task State Change" -> core runtime events. It reads and
 * stops tasks only, so it needs the table and the cluster, not the profiles or the network.
 */
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { DynamoVolumeStore } from '../adapters/dynamodb/volume-store.js';
import { createEcsClient } from '../adapters/ecs/client.js';
import { EcsTasks } from '../adapters/ecs/ecs-tasks.js';
import { translateTaskEvent } from '../adapters/ecs/task-events.js';
import { clusterSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, withProfiles } from '../config/lifecycle.js';
import { onRuntimeEvent } from '../core/runtime-events.js';
import { systemClock } from '../core/system.js';
import { DIMENSIONS, METRICS, SERVICES } from '../names.js';
import { countWith } from './metrics.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/** The task-events function's handler; throws `ConfigError` naming every bad variable. */
export function createTaskEventsHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, {
    table: tableSection,
    cluster: clusterSection,
    lifecycle: lifecycleSection(),
  });
  const observability = createObservability(SERVICES.taskEvents);
  const { logger, metrics, tracer } = observability;
  const dynamodb = tracer.captureAWSv3Client(createDynamoClient({ endpoint: config.table.dynamodbEndpoint }));
  const tasks = new EcsTasks({
    ecs: tracer.captureAWSv3Client(createEcsClient()),
    clusterArn: config.cluster.clusterArn,
    tenants: new DynamoVolumeStore(dynamodb, config.table.tableName),
  });
  const deps = {
    store: new DynamoSessionStore(dynamodb, config.table.tableName),
    quotas: new DynamoQuotaStore(dynamodb, config.table.tableName),
    runtime: tasks,
    clock: systemClock,
    config: withProfiles(config.lifecycle, { names: [], envAllowLists: {} }),
    logger: coreLogger(logger),
  };
  const context = {
    clusterArn: config.cluster.clusterArn,
    ownerOf: (startedBy: string | undefined) => tasks.ownerOf(startedBy),
  };

  return instrument(
    observability,
    (event: { id?: string }) => event.id,
    async (event) => {
      const translated = await translateTaskEvent(event, context);
      if (translated.kind === 'ignored') {
        logger.info('task event ignored', { reason: translated.reason, ...translated.detail });
        countWith(metrics, METRICS.taskEvents, DIMENSIONS.outcome, translated.reason);
        return { outcome: 'ignored' as const, reason: translated.reason };
      }
      const outcome = await onRuntimeEvent(deps, translated.event);
      logger.info('task event handled', { outcome, ...translated.event });
      countWith(metrics, METRICS.taskEvents, DIMENSIONS.outcome, outcome);
      return { outcome };
    },
  );
}
