/**
 * The logs function: API Gateway sends it `GET /v1/chats/{chatId}/sandbox/logs` and
 * `GET /v1/openapi.json` (the document of every route, the storage function's included, which the
 * api function's bundle has no room for), and nothing else.
 * A function of its own, because the CloudWatch Logs client (about 110 KiB minified) does not fit
 * in the api function's bundle budget, and so that only this function may read the sandboxes' logs.
 * It serves the same Hono app as the api function (same authentication, problems and request ids),
 * with the logs route added; it reads the session table and never runs a sandbox.
 */
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createDynamoClient } from '../adapters/dynamodb/client.js';
import { createLogsClient } from '../adapters/logs/client.js';
import { CloudWatchSandboxLogs } from '../adapters/logs/cloudwatch-logs.js';
import { authSection, logStreamsSection, profilesSection, tableSection } from '../config/aws.js';
import { parseSections } from '../config/env.js';
import { lifecycleSection, profileNames, withProfiles } from '../config/lifecycle.js';
import { createApp } from '../http/app.js';
import { registerDocumentRoute } from '../http/routes/document-route.js';
import { registerLogsRoutes } from '../http/routes/logs-routes.js';
import { STORAGE_ROUTES } from '../http/routes/storage-routes.js';
import { SERVICES } from '../names.js';
import { apiGatewayAppDeps, requestIdOf } from './api-gateway.js';
import { coreWithoutRuntime } from './no-runtime.js';
import { coreLogger, createObservability, instrument } from './observability.js';

/** The logs function's handler; throws `ConfigError` naming every bad variable. */
export function createLogsHandler(env: NodeJS.ProcessEnv = process.env) {
  const config = parseSections(env, {
    table: tableSection,
    auth: authSection,
    streams: logStreamsSection,
    profiles: profilesSection,
    lifecycle: lifecycleSection(),
  });
  const observability = createObservability(SERVICES.logs);
  const { tracer } = observability;
  const logger = coreLogger(observability.logger);
  const dynamodb = tracer.captureAWSv3Client(createDynamoClient({ endpoint: config.table.dynamodbEndpoint }));
  const logs = new CloudWatchSandboxLogs(tracer.captureAWSv3Client(createLogsClient()), config.streams);
  const core = coreWithoutRuntime(
    dynamodb,
    config.table.tableName,
    withProfiles(config.lifecycle, profileNames(config.profiles)),
    logger,
  );
  const app = createApp({
    core,
    ...apiGatewayAppDeps(config.auth, observability.logger),
    moreRoutes: (router) => registerLogsRoutes(router, { core, logs }),
    // The document is served here, not by the api function (whose bundle budget it would break),
    // and lists the storage function's routes too.
    document: (router, deps, routes) => registerDocumentRoute(router, deps, routes, STORAGE_ROUTES),
  });
  const answer = handle(app);
  return instrument(observability, requestIdOf, (event: LambdaEvent, context: LambdaContext) =>
    answer(event, context),
  );
}
