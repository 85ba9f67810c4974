/**
 * DynamoDB clients: the functions' (region and credentials from the Lambda environment, the SDK's
 * standard retry strategy) and DynamoDB Local's (local mode, tests, the bench: fixed region, static
 * keys).
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';

/**
 * Attempts per call, first included, with the SDK's standard strategy (exponential backoff with
 * jitter, throttling-aware). Small: the api function must answer within API Gateway's 30 s.
 */
export const DYNAMODB_MAX_ATTEMPTS = 3;

/**
 * The functions' client (and the operator commands'): region and credentials from the environment
 * unless given; `endpoint` points it elsewhere than AWS (DynamoDB Local in tests).
 */
/**
 * The SDK's standard retry strategy, which also retries `TransactionConflictException`, as a
 * transient error. DynamoDB refuses a plain write to an item that a transaction is writing or
 * checking at that moment with that error, which the SDK does not retry by itself; a chat's first
 * claim is such a transaction (with a check of the chat record), so a reuse or an owner claim of
 * the same chat at the same moment would otherwise fail. Retried, it meets the item as the
 * transaction left it, and its own condition decides.
 */
export class ConflictRetryStrategy implements RetryStrategyV2 {
  private readonly standard: StandardRetryStrategy;

  constructor(maxAttempts: number) {
    this.standard = new StandardRetryStrategy(maxAttempts);
  }

  acquireInitialRetryToken(retryTokenScope: string): Promise<RetryToken> {
    return this.standard.acquireInitialRetryToken(retryTokenScope);
  }

  refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const conflict = errorInfo.error?.name === 'TransactionConflictException';
    return this.standard.refreshRetryTokenForRetry(
      token as StandardRetryToken,
      conflict ? { ...errorInfo, errorType: 'TRANSIENT' } : errorInfo,
    );
  }

  recordSuccess(token: RetryToken): void {
    this.standard.recordSuccess(token as StandardRetryToken);
  }
}

export function createDynamoClient(
  options: { readonly endpoint?: string | undefined; readonly region?: string | undefined } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    retryStrategy: new ConflictRetryStrategy(DYNAMODB_MAX_ATTEMPTS),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
}

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * DynamoDB Local keeps one database file per access key and region (`<key>_<region>.db`), so the key
 * selects the database: local mode uses a random one per data folder, tests and the bench this one.
 */
export const TEST_CREDENTIALS: StaticCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'local';

/** Attempts per call of a DynamoDB Local client, first included (the SDK's default). */
const DEFAULT_LOCAL_ATTEMPTS = 3;

export function localDynamoClient(
  endpoint: string,
  credentials: StaticCredentials = TEST_CREDENTIALS,
  options: { readonly maxAttempts?: number } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    // The SDK's default attempts (3) unless told: local mode meets the same conflicts as AWS.
    retryStrategy: new ConflictRetryStrategy(options.maxAttempts ?? DEFAULT_LOCAL_ATTEMPTS),
  });
}

/** Whether a DynamoDB answers at `endpoint` (one ListTables call, no retries). */
export async function answersAt(endpoint: string, credentials?: StaticCredentials): Promise<boolean> {
  const client = localDynamoClient(endpoint, credentials, { maxAttempts: 1 });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}
