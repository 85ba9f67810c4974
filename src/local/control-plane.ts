import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { DynamoChatPurges } from '../adapters/dynamodb/chat-purges.js';
import { localDynamoClient, type StaticCredentials } from '../adapters/dynamodb/client.js';
import { ensureTable, streamArnOf } from '../adapters/dynamodb/ensure-table.js';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import { DynamoStorageUsageStore } from '../adapters/dynamodb/storage-usage-store.js';
import { localStreamsClient, StreamTail } from '../adapters/dynamodb/stream-tail.js';
import { PosixChatFiles } from '../adapters/fs/chat-tree.js';
import { LocalSandboxLogs } from '../adapters/local/local-logs.js';
import { LocalProcessRuntime, localChatDir } from '../adapters/local/local-runtime.js';
import { finishPurges, localPurgeFinish } from '../core/chat-purge.js';
import type { StorageDeps } from '../core/chat-storage.js';
import type { CoreDeps } from '../core/deps.js';
import type { Logger } from '../core/ports.js';
import { reconcile } from '../core/reconcile.js';
import { onRuntimeEvent } from '../core/runtime-events.js';
import { stopLiveSandboxes } from '../core/sandbox-ops.js';
import { randomIds, systemClock } from '../core/system.js';
import { createApp } from '../http/app.js';
import { localTokenAuth } from '../http/auth.js';
import { registerDocumentRoute } from '../http/routes/document-route.js';
import { registerLogsRoutes } from '../http/routes/logs-routes.js';
import { registerStorageRoutes } from '../http/routes/storage-routes.js';
import { VERSION } from '../version.js';
import type { LocalConfig } from './config.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { apiTokenOf, dynamoCredentialsOf, webhookSecretOf } from './data-dir-secrets.js';
import {
  type LocalDynamo,
  removeEndpointFile,
  startLocalDynamo,
  writeEndpointFile,
} from './dynamodb-local.js';
import { EventHub } from './event-hub.js';
import { registerEventRoutes } from './events-route.js';
import { localHostGuard } from './host-guard.js';
import { StartupError } from './startup-error.js';
import { transitionLine } from './transition-log.js';
import { WebhookSender } from './webhook-sender.js';

export interface LocalControlPlane {
  /** Base URL of the API, e.g. http://127.0.0.1:8123. */
  readonly url: string;
  /** The bearer token callers send: SANDBOX_API_TOKEN, or the data folder's own. */
  readonly apiToken: string;
  readonly deps: CoreDeps;
  /** The lifecycle events so far (what `GET /v1/events` streams). */
  readonly events: EventHub;
  /** Stops the sandboxes it runs (recorded `stopped`), the reconciler, the server and DynamoDB Local. */
  stop(): Promise<void>;
}

/**
 * Local mode: DynamoDB Local (unless `dynamoEndpoint` is set), the session table, the local process
 * runtime, the HTTP API on `host:port` and the reconciler on a timer. Reconciles at start what a
 * previous run left behind.
 */
export async function startLocalControlPlane(
  config: LocalConfig,
  logger: Logger,
): Promise<LocalControlPlane> {
  // Fail before touching anything when the folder or the port is taken.
  const lock = lockDataDir(config.dataDir);
  let dynamo: LocalDynamo | null = null;
  try {
    await assertPortFree(config.host, config.port);
    const credentials = dynamoCredentialsOf(config.dataDir);
    if (!config.dynamoEndpoint)
      dynamo = await startLocalDynamo({ dataDir: join(config.dataDir, 'dynamodb'), credentials });
    // Where operator commands (npm run limits) find the running database.
    if (dynamo) writeEndpointFile(config.dataDir, dynamo.endpoint);
    return await serveControlPlane(config, logger, { dynamo, credentials, lock });
  } catch (error) {
    await dynamo?.stop();
    removeEndpointFile(config.dataDir);
    lock.release();
    throw error;
  }
}

async function serveControlPlane(
  config: LocalConfig,
  logger: Logger,
  parts: { dynamo: LocalDynamo | null; credentials: StaticCredentials; lock: DataDirLock },
): Promise<LocalControlPlane> {
  const { dynamo, lock } = parts;
  const endpoint = config.dynamoEndpoint ?? dynamo!.endpoint;
  const client = localDynamoClient(endpoint, parts.credentials);
  await ensureTable(client, config.tableName);

  // Lifecycle events: the table's change stream, from what it holds now on, to the hub and webhook.
  const events = new EventHub(logger);
  const webhook = config.webhook
    ? new WebhookSender({
        url: config.webhook.url,
        secret: config.webhook.secret ?? webhookSecretOf(config.dataDir),
        logger,
      })
    : null;
  if (webhook) events.subscribe((entry) => entry && webhook.enqueue([entry.event]));
  // One console line per transition: a developer sees a sandbox fail, and where its output is.
  events.subscribe((entry) => {
    const line = entry && transitionLine(entry.event, config.dataDir);
    if (line) logger[line.level](line.message, line.fields);
  });
  const streams = localStreamsClient(endpoint, parts.credentials);
  const tail = new StreamTail(
    streams,
    await streamArnOf(client, config.tableName),
    (records) => events.publishRecords(records),
    { from: 'latest', logger },
  );
  tail.start();

  const runtime: LocalProcessRuntime = new LocalProcessRuntime({
    dataDir: config.dataDir,
    profiles: config.profiles,
    logger,
    onEvent: (event) => onRuntimeEvent(deps, event),
  });
  const deps: CoreDeps = {
    store: new DynamoSessionStore(client, config.tableName),
    quotas: new DynamoQuotaStore(client, config.tableName),
    runtime,
    clock: systemClock,
    ids: randomIds,
    config: config.lifecycle,
    logger,
  };

  // The lease holder is the data folder: stable, so a restart after a crash takes the lease back at
  // once, and distinct, so two control planes sharing one DynamoDB never reconcile at the same time.
  const holder = `local:${config.dataDir}`;
  await reconcile(deps, { holder, verifyAll: true });
  let passes = Promise.resolve();
  // Chat storage: the chat directories under the data folder, and purges the passes finish.
  const storage: StorageDeps = {
    core: deps,
    files: new PosixChatFiles({ rootOf: (key) => localChatDir(config.dataDir, key) }),
    usage: new DynamoStorageUsageStore(client, config.tableName),
    purges: new DynamoChatPurges(client, config.tableName),
    config: config.storage,
  };
  const timer = setInterval(() => {
    passes = passes
      .then(() => reconcile(deps, { holder }))
      .then(() => finishPurges(localPurgeFinish(storage)))
      .then(
        () => undefined,
        (error: unknown) => logger.error('reconcile pass failed', { error }),
      );
  }, config.reconcileIntervalSeconds * 1000);

  const apiToken = config.apiToken ?? apiTokenOf(config.dataDir);
  const app = createApp({
    core: deps,
    authenticate: localTokenAuth(apiToken, config.tenantsByTokenSha256),
    version: VERSION,
    acceptsHost: localHostGuard(config.host, config.allowedHosts),
    moreRoutes: (router) => {
      registerLogsRoutes(router, { core: deps, logs: new LocalSandboxLogs(config.dataDir) });
      registerStorageRoutes(router, storage);
      registerEventRoutes(router, events);
    },
    chatDirectoryOf: (key) => localChatDir(config.dataDir, key),
    storage: { usage: storage.usage, ownerMaxBytes: config.storage.ownerMaxBytes },
    document: registerDocumentRoute,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
      resolve(started),
    );
    started.once('error', reject);
  }).catch(async (error: unknown) => {
    clearInterval(timer);
    await tail.stop();
    await webhook?.stop(0);
    streams.destroy();
    client.destroy();
    throw error;
  });
  const { port } = server.address() as AddressInfo;

  return {
    events,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    apiToken,
    deps,
    async stop() {
      clearInterval(timer);
      await passes;
      // No new requests; open event streams stay until the shutdown's own events are out.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await stopLiveSandboxes(deps, (await runtime.inventory()).tasks, 'shutdown');
      await runtime.allExited();
      await tail.drain().catch((error: unknown) => logger.warn('could not read the last changes', { error }));
      await tail.stop();
      await webhook?.stop(WEBHOOK_SHUTDOWN_MS);
      events.close();
      await closed;
      streams.destroy();
      client.destroy();
      await dynamo?.stop();
      removeEndpointFile(config.dataDir);
      lock.release();
    },
  };
}

/** How long a stop waits for the webhook to take the last events. */
const WEBHOOK_SHUTDOWN_MS = 3_000;

/** Throws a clear error if `host:port` cannot be listened on (port 0 always can). */
function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `${host}:${port} is already in use; stop what listens there, or set PORT.`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
