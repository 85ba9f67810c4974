/** DynamoDB clients for DynamoDB Local (local mode, tests, the bench): fixed region, static keys. */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

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
