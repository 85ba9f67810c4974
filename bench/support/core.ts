/** Core and HTTP app wiring for the in-process figures: the real store and app, a timed fake runtime. */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from '../../src/core/lifecycle.js';
import type { QuotaStore } from '../../src/core/quota-ports.js';
import { randomIds, systemClock } from '../../src/core/system.js';
import { type App, createApp } from '../../src/http/app.js';
import { localTokenAuth } from '../../src/http/auth.js';
import { CountingLogger, TimedRuntime } from './fake-runtime.js';

/** Bearer token of the bench's in-process apps (tenant `local`). */
export const BENCH_TOKEN = 'bench-token-0123456789';

/** Core deps over one table with the wall clock, random ids and the default lifecycle, and the app over them. */
export interface BenchCore {
  readonly deps: CoreDeps;
  readonly runtime: TimedRuntime;
  readonly logger: CountingLogger;
  readonly app: App;
}

/** What a figure may set apart from the defaults: the lifecycle, or another quota store. */
export interface BenchCoreOptions {
  readonly config?: LifecycleConfig;
  readonly quotas?: QuotaStore;
}

/**
 * Builds core deps and the HTTP app over the real DynamoDB stores (sessions and quotas) and a
 * runtime whose launch takes `launchMs`.
 */
export function benchCore(
  client: DynamoDBClient,
  tableName: string,
  launchMs: number,
  options: BenchCoreOptions = {},
): BenchCore {
  const runtime = new TimedRuntime(launchMs);
  const logger = new CountingLogger();
  const deps: CoreDeps = {
    store: new DynamoSessionStore(client, tableName),
    quotas: options.quotas ?? new DynamoQuotaStore(client, tableName),
    runtime,
    clock: systemClock,
    ids: randomIds,
    config: options.config ?? DEFAULT_LIFECYCLE,
    logger,
  };
  const app = createApp({ core: deps, authenticate: localTokenAuth(BENCH_TOKEN), version: 'bench' });
  return { deps, runtime, logger, app };
}

/** A random chat id in the API's canonical form. */
export function newChatId(): string {
  return randomUUID();
}

/** `PUT /v1/chats/{chatId}/sandbox` through `app.request()` (no network hop); answers status and body. */
export async function putSandbox(
  app: App,
  chatId: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: unknown }> {
  const text = JSON.stringify(body);
  // As an HTTP client sends it: with its length, which lets the body limit check the header alone.
  const response = await app.request(`/v1/chats/${chatId}/sandbox`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${BENCH_TOKEN}`,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    },
    body: text,
  });
  return { status: response.status, body: await response.json() };
}
