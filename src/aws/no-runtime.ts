import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoQuotaStore } from '../adapters/dynamodb/quota-store.js';
import { DynamoSessionStore } from '../adapters/dynamodb/session-store.js';
import type { CoreDeps } from '../core/deps.js';
import type { LifecycleConfig } from '../core/lifecycle.js';
import type { Logger, SandboxRuntime } from '../core/ports.js';
import { randomIds, systemClock } from '../core/system.js';

const refuse = () => Promise.reject(new Error('this function runs no sandboxes'));

/**
 * The runtime of a function that starts, describes and stops nothing (logs, storage): API Gateway
 * routes no sandbox request to it, so nothing calls these.
 */
export const NO_RUNTIME: SandboxRuntime = {
  launch: refuse,
  describe: refuse,
  stop: refuse,
  inventory: refuse,
};

/** Core over the session table alone, for a function that runs no sandbox (logs, storage). */
export function coreWithoutRuntime(
  dynamodb: DynamoDBClient,
  tableName: string,
  config: LifecycleConfig,
  logger: Logger,
): CoreDeps {
  return {
    store: new DynamoSessionStore(dynamodb, tableName),
    quotas: new DynamoQuotaStore(dynamodb, tableName),
    runtime: NO_RUNTIME,
    clock: systemClock,
    ids: randomIds,
    config,
    logger,
  };
}
