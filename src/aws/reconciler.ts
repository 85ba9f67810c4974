/**
 * The reconciler function: EventBridge Scheduler (every minute) -> one reconcile pass, then the
 * retirement of idle chat volumes, both under the reconciler lease so overlapping runs never work at
 * once.
 */
import type { Context } from 'aws-lambda';
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { type RetireSummary, VolumeRetirer } from '../adapters/ecs/volume-retirer.js';
import { ecsSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, profileNames, profileSizes, withProfiles } from '../config/lifecycle.js';
import type { CoreDeps } from '../core/deps.js';
import {
  emptySummary,
  type ReconcileSummary,
  reconcileLease,
  reconcilePass,
  withLease,
} from '../core/reconcile.js';
import { randomIds, systemClock } from '../core/system.js';
import { SERVICES } from '../names.js';
import { ecsRuntimeParts } from './ecs-runtime.js';
import { MeteredRuntime, recordReconcile } from './metrics.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/** Time kept back from the Lambda timeout to release the lease and flush metrics. */
const SAFETY_MARGIN_MS = 5_000;

export type ReconcilerResult = ReconcileSummary & { readonly volumes: RetireSummary | null };

/** The reconciler function's handler; throws `ConfigError` naming every bad variable. */
export function createReconcilerHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, { table: tableSection, ecs: ecsSection, lifecycle: lifecycleSection() });
  const observability = createObservability(SERVICES.reconciler);
  const { tracer, metrics } = observability;
  const logger = coreLogger(observability.logger);
  const dynamodb = tracer.captureAWSv3Client(createDynamoClient({ endpoint: config.table.dynamodbEndpoint }));
  const parts = ecsRuntimeParts({
    dynamodb,
    capture: (client) => tracer.captureAWSv3Client(client),
    tableName: config.table.tableName,
    settings: config.ecs,
    clock: systemClock,
    logger,
  });
  const store = new DynamoSessionStore(dynamodb, config.table.tableName);
  const core: CoreDeps = {
    store,
    quotas: new DynamoQuotaStore(dynamodb, config.table.tableName),
    runtime: new MeteredRuntime(parts.runtime, metrics),
    clock: systemClock,
    ids: randomIds,
    config: withProfiles(
      config.lifecycle,
      profileNames(config.ecs.profiles),
      profileSizes(config.ecs.profiles),
    ),
    logger,
  };
  const retirer = new VolumeRetirer({
    ecs: parts.ecs,
    accessPoints: parts.accessPoints,
    volumes: parts.volumes,
    store: parts.volumeStore,
    sessions: store,
    settings: config.ecs,
    clock: systemClock,
    logger,
  });

  return instrument(
    observability,
    () => undefined,
    async (_event: unknown, context: Context): Promise<ReconcilerResult> => {
      const now = systemClock.now();
      const deadline = now + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
      const result = await withLease(store, reconcileLease(context.awsRequestId, now, deadline), async () => {
        const summary = await reconcilePass(core, { deadline });
        // Retirement only after a pass that got through everything, under the same lease.
        const volumes = summary.truncated ? null : await retirer.retireDue({ deadline });
        return { ...summary, volumes };
      });
      if (!result) {
        observability.logger.info('reconcile skipped: another pass holds the lease');
        return { ...emptySummary(false), volumes: null };
      }
      recordReconcile(metrics, result, result.volumes?.retired ?? 0);
      observability.logger.info('reconciler summary', { ...result });
      return result;
    },
  );
}
