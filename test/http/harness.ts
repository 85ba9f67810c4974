import { createHash } from 'node:crypto';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import type { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import { DynamoStorageUsageStore } from '../../src/adapters/dynamodb/storage-usage-store.js';
import { PosixChatFiles } from '../../src/adapters/fs/chat-tree.js';
import { localChatDir } from '../../src/adapters/local/local-runtime.js';
import type { ChatFiles, StorageConfig } from '../../src/core/chat-files-port.js';
import type { LifecycleConfig } from '../../src/core/lifecycle.js';
import type { SandboxLogs } from '../../src/core/logs-port.js';
import { createApp, type Router } from '../../src/http/app.js';
import { localTokenAuth } from '../../src/http/auth.js';
import { registerDocumentRoute } from '../../src/http/routes/document-route.js';
import { registerLogsRoutes } from '../../src/http/routes/logs-routes.js';
import { registerStorageRoutes } from '../../src/http/routes/storage-routes.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

export const TOKEN = 'test-token-123';
export const AUTH = { Authorization: `Bearer ${TOKEN}` };
export const CHAT = '11111111-1111-4111-8111-111111111111';

/** The app over DynamoDB Local and a fake runtime, with helpers to call it as a client would. */
export async function httpHarness(
  options: {
    config?: Partial<LifecycleConfig>;
    acceptsHost?: (host: string) => boolean;
    /** More callers: token -> tenant (the harness's own token is tenant `local`). */
    tenants?: Readonly<Record<string, string>>;
    /** A logs backend: the app serves the logs route over it (as hosts with one do). */
    logs?: SandboxLogs;
    /** A folder for chat directories: the app serves the storage routes over it (as local mode does). */
    storageDir?: string;
    /** Its limits (default: 64 KiB files, 1 MiB per owner). */
    storageLimits?: StorageConfig;
    /** Wraps the chat files (to make a call fail as a file system would). */
    wrapFiles?: (files: ChatFiles) => ChatFiles;
  } = {},
) {
  const deps = coreDeps((await createTestTable()).store, options.config ? { config: options.config } : {});
  const app = createApp({
    core: deps,
    authenticate: localTokenAuth(
      TOKEN,
      new Map(
        Object.entries(options.tenants ?? {}).map(([token, tenant]) => [
          createHash('sha256').update(token).digest('hex'),
          tenant,
        ]),
      ),
    ),
    version: '9.9.9',
    document: registerDocumentRoute,
    ...(options.acceptsHost ? { acceptsHost: options.acceptsHost } : {}),
    moreRoutes: (router: Router) => {
      if (options.logs) registerLogsRoutes(router, { core: deps, logs: options.logs });
      if (options.storageDir) {
        const dir = options.storageDir;
        const store = deps.store as DynamoSessionStore;
        registerStorageRoutes(router, {
          core: deps,
          files: (options.wrapFiles ?? ((files) => files))(
            new PosixChatFiles({ rootOf: (key) => localChatDir(dir, key) }),
          ),
          usage: new DynamoStorageUsageStore(store.client, store.tableName),
          purges: new DynamoChatPurges(store.client, store.tableName),
          config: options.storageLimits ?? { maxFileBytes: 64 * 1024, ownerMaxBytes: 1024 * 1024 },
        });
      }
    },
  });
  const call = (
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...AUTH, ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['Content-Type'] ??= 'application/json';
    }
    return app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
  };
  const put = (chatId: string, body: unknown) => call('PUT', `/v1/chats/${chatId}/sandbox`, { body });
  return { app, deps, call, put };
}

export async function problem(response: Response) {
  expectProblemType(response);
  return (await response.json()) as {
    type: string;
    title: string;
    status: number;
    code: string;
    detail: string;
    errors?: { path: string; message: string }[];
  };
}

function expectProblemType(response: Response): void {
  if (response.headers.get('content-type') !== 'application/problem+json') {
    throw new Error(`expected application/problem+json, got ${response.headers.get('content-type')}`);
  }
}

/** A response body as an untyped client reads it (JSON.parse's own type). */
export type Json = ReturnType<typeof JSON.parse>;

export async function json(response: Response): Promise<Json> {
  return response.json();
}
