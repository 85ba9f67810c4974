import { describe, expect, it } from 'vitest';
import { createAwsClients, MAX_ATTEMPTS } from '../../src/adapters/ecs/aws-clients.js';
import { isConcurrentRevision, isThrottling, launchErrorFrom } from '../../src/adapters/ecs/sdk-errors.js';

describe('createAwsClients', () => {
  it("uses the SDK's standard retry strategy with a bounded number of attempts", async () => {
    const clients = createAwsClients({ dynamodbEndpoint: 'http://127.0.0.1:8000' });
    for (const [name, client] of Object.entries(clients)) {
      const strategy = await client.config.retryStrategy();
      expect(strategy.constructor.name).toBe('StandardRetryStrategy');
      expect(await client.config.maxAttempts()).toBe(MAX_ATTEMPTS[name as keyof typeof MAX_ATTEMPTS]);
    }
    expect((await clients.dynamodb.config.endpoint?.())?.hostname).toBe('127.0.0.1');
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
