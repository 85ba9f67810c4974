/**
 * DynamoDB clients: the functions' (region and credentials from the Lambda environment, the SDK's
 * standard retry strategy) and DynamoDB Local's (local mode, tests, the bench: fixed region, static
 * keys).
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/**
 * Attempts per call, first included, with the SDK's standard strategy (exponential backoff with
 * jitter, throttling-aware). Small: the api function must answer within API Gateway's 30 s.
 */
export const DYNAMODB_MAX_ATTEMPTS = 3;

/**
 * The functions' client (and the operator commands'): region and credentials from the environment
 * unless given; `endpoint` points it elsewhere than AWS (DynamoDB Local in tests).
 */
export function createDynamoClient(
  options: { readonly endpoint?: string | undefined; readonly region?: string | undefined } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    retryMode: 'standard',
    maxAttempts: DYNAMODB_MAX_ATTEMPTS,
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

export function localDynamoClient(
  endpoint: string,
  credentials: StaticCredentials = TEST_CREDENTIALS,
  options: { readonly maxAttempts?: number } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
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
