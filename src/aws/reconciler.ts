/**
 * The reconciler function: EventBridge Scheduler (every minute) -> one reconcile pass, then the
 * retirement of idle chat volumes and the end of due chat purges, all under the reconciler lease so
 * overlapping runs never work at once. A purge's AWS calls (the chat's access point and task
 * definitions) run here, outside the VPC; only the directory removal runs in the storage function.
 */
import type { Context } from 'aws-lambda';
import { DynamoChatPurges } from '../adapters/dynamodb/chat-purges.js';
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { DynamoStorageUsageStore } from '../adapters/dynamodb/storage-usage-store.js';
import { type RetireSummary, VolumeRetirer } from '../adapters/ecs/volume-retirer.js';
import { createLambdaClient } from '../adapters/lambda/client.js';
import { LambdaDirectoryRemover } from '../adapters/lambda/directory-removal.js';
import { ecsSection, storageFunctionSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, profileNames, profileSizes, withProfiles } from '../config/lifecycle.js';
import { finishPurges, type PurgeFinishDeps } from '../core/chat-purge.js';
import type { CoreDeps } from '../core/deps.js';
import {
  emptySummary,
  type ReconcileSummary,
  reconcileLease,
  reconcilePass,
  withLease,
} from '../core/reconcile.js';
import { randomIds, systemClock } from '../core/system.js';
import { ENV, SERVICES, STORAGE_FUNCTION_TIMEOUT_SECONDS } from '../names.js';
import { ecsRuntimeParts } from './ecs-runtime.js';
import { MeteredRuntime, recordReconcile } from './metrics.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/** Time kept back from the Lambda timeout to release the lease and flush metrics. */
const SAFETY_MARGIN_MS = 5_000;
/**
 * The longest one purge's directory removal may take: the storage function's timeout and a margin
 * for the invocation. A chat too large to clear in one run is cleared further by the next.
 */
const PURGE_STEP_MS = (STORAGE_FUNCTION_TIMEOUT_SECONDS + 5) * 1000;

export type ReconcilerResult = ReconcileSummary & {
  readonly volumes: RetireSummary | null;
  /** Chat purges finished or given up this run; null when the run had no time left for them. */
  readonly purges: {
    readonly purged: number;
    readonly abandoned: number;
    readonly truncated: boolean;
  } | null;
};

/** The reconciler function's handler; throws `ConfigError` naming every bad variable. */
export function createReconcilerHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, {
    table: tableSection,
    ecs: ecsSection,
    lifecycle: lifecycleSection(),
    storage: storageFunctionSection,
  });
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
  const { functionName } = config.storage;
  const directories = functionName
    ? new LambdaDirectoryRemover(
        tracer.captureAWSv3Client(createLambdaClient({ requestTimeoutMs: PURGE_STEP_MS })),
        functionName,
      )
    : null;
  // Without the storage function no directory can be removed: purges then wait, marked.
  const purges: PurgeFinishDeps | null = directories
    ? {
        core,
        usage: new DynamoStorageUsageStore(dynamodb, config.table.tableName),
        purges: new DynamoChatPurges(dynamodb, config.table.tableName),
        removeDirectory: (key, purgingAt) => directories.remove(key, purgingAt),
        removeRuntimeResources: (key) => retirer.retireChat(key),
      }
    : null;
  if (!purges) logger.warn(`${ENV.storageFunctionName} is not set: chat purges are not finished`);

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
        // A purge starts only with time for its slowest step left: the storage function's run.
        const finished =
          purges && volumes?.truncated === false
            ? await finishPurges(purges, { deadline: deadline - PURGE_STEP_MS })
            : null;
        return { ...summary, volumes, purges: finished };
      });
      if (!result) {
        observability.logger.info('reconcile skipped: another pass holds the lease');
        return { ...emptySummary(false), volumes: null, purges: null };
      }
      recordReconcile(metrics, result, result.volumes?.retired ?? 0, result.purges?.purged ?? 0);
      observability.logger.info('reconciler summary', { ...result });
      return result;
    },
  );
}
