import { describe, expect, it } from 'vitest';
import { ConflictRetryStrategy, createDynamoClient } from '../../src/adapters/dynamodb/client.js';
import { createEcsClient, ECS_MAX_ATTEMPTS } from '../../src/adapters/ecs/client.js';
import { createEfsClient, EFS_MAX_ATTEMPTS } from '../../src/adapters/efs/client.js';
import { isConcurrentRevision, isThrottling, launchErrorFrom } from '../../src/adapters/sdk-errors.js';

describe('client factories', () => {
  it("use the SDK's standard retry strategy with a bounded number of attempts", async () => {
    const clients = [
      [createEcsClient(), ECS_MAX_ATTEMPTS],
      [createEfsClient(), EFS_MAX_ATTEMPTS],
    ] as const;
    for (const [client, attempts] of clients) {
      const strategy = await client.config.retryStrategy();
      expect(strategy.constructor.name).toBe('StandardRetryStrategy');
      expect(await client.config.maxAttempts()).toBe(attempts);
    }
    // DynamoDB's wraps the standard one to retry transaction conflicts too
    // (test/integration/conflict-retry.test.ts counts its attempts on the wire).
    const dynamodb = createDynamoClient({ endpoint: 'http://127.0.0.1:8000' });
    expect(await dynamodb.config.retryStrategy()).toBeInstanceOf(ConflictRetryStrategy);
    expect((await dynamodb.config.endpoint?.())?.hostname).toBe('127.0.0.1');
  });
});

describe('SDK error classification', () => {
  const sdkError = (name: string, message = 'x', fault = 'client') =>
    Object.assign(new Error(message), { name, $fault: fault });

  it('retries throttling and server faults later, fails other client errors', () => {
    expect(isThrottling(sdkError('ThrottlingException'))).toBe(true);
    expect(launchErrorFrom('RunTask', sdkError('ThrottlingException')).retryable).toBe(true);
    expect(launchErrorFrom('RunTask', sdkError('ServerException', 'boom', 'server')).retryable).toBe(true);
    expect(launchErrorFrom('RunTask', sdkError('AccessDeniedException')).retryable).toBe(false);
  });

  it('recognises the concurrent-revision ClientException and nothing else', () => {
    const message = 'Too many concurrent attempts to create a new revision of the specified family.';
    expect(isConcurrentRevision(sdkError('ClientException', message))).toBe(true);
    expect(isConcurrentRevision(sdkError('ClientException', 'Invalid setting'))).toBe(false);
    expect(isConcurrentRevision(sdkError('InvalidParameterException', message))).toBe(false);
  });
});
