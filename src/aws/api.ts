/**
 * The api function: API Gateway HTTP API (payload 2.0) -> the Hono app. Builds what the API needs
 * once per cold start: configuration, clients, the session store, the ECS runtime, observability.
 */
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { DynamoStorageUsageStore } from '../adapters/dynamodb/storage-usage-store.js';
import { authSection, ecsSection, storageQuotaSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, profileNames, profileSizes, withProfiles } from '../config/lifecycle.js';
import type { CoreDeps } from '../core/deps.js';
import { randomIds, systemClock } from '../core/system.js';
import { createApp } from '../http/app.js';
import { ROUTE_PATHS, SERVICES, STORAGE_ROUTE_KEYS } from '../names.js';
import { apiGatewayAppDeps, requestIdOf } from './api-gateway.js';
import { ecsRuntimeParts } from './ecs-runtime.js';
import { LazyRuntime } from './lazy-runtime.js';
import { MeteredRuntime, recordApiAnswer } from './metrics.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/** The api function's handler; throws `ConfigError` naming every bad variable. */
export function createApiHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, {
    table: tableSection,
    ecs: ecsSection,
    auth: authSection,
    lifecycle: lifecycleSection(),
    storage: storageQuotaSection,
  });
  const observability = createObservability(SERVICES.api);
  const { tracer, metrics } = observability;
  const logger = coreLogger(observability.logger);
  const dynamodb = tracer.captureAWSv3Client(createDynamoClient({ endpoint: config.table.dynamodbEndpoint }));
  // Built on the first launch, stop or describe: a reuse needs DynamoDB only.
  const runtime = new LazyRuntime(
    () =>
      ecsRuntimeParts({
        dynamodb,
        capture: (client) => tracer.captureAWSv3Client(client),
        tableName: config.table.tableName,
        settings: config.ecs,
        clock: systemClock,
        logger,
      }).runtime,
  );
  const core: CoreDeps = {
    store: new DynamoSessionStore(dynamodb, config.table.tableName),
    quotas: new DynamoQuotaStore(dynamodb, config.table.tableName),
    runtime: new MeteredRuntime(runtime, metrics),
    clock: systemClock,
    ids: randomIds,
    config: withProfiles(
      config.lifecycle,
      profileNames(config.ecs.profiles),
      profileSizes(config.ecs.profiles),
    ),
    logger,
  };
  const app = createApp({
    core,
    ...apiGatewayAppDeps(config.auth, observability.logger),
    onAnswer: (answer) => recordApiAnswer(metrics, answer),
    servedElsewhere: [
      ...[ROUTE_PATHS.sandboxLogs, ROUTE_PATHS.openApi].map((path) => ({ method: 'get' as const, path })),
      ...STORAGE_ROUTE_KEYS,
    ],
    // The figures the storage function measured, for `GET /v1/usage`.
    storage: {
      usage: new DynamoStorageUsageStore(dynamodb, config.table.tableName),
      ownerMaxBytes: config.storage.ownerMaxBytes,
    },
  });
  const answer = handle(app);
  return instrument(observability, requestIdOf, (event: LambdaEvent, context: LambdaContext) =>
    answer(event, context),
  );
}
