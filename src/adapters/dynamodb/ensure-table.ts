import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DUE_INDEX,
  KEY_ATTRIBUTE_TYPES,
  STREAM_VIEW_TYPE,
  TABLE_KEYS,
  TENANT_INDEX,
  TTL_ATTRIBUTE,
} from './table-definition.js';

/**
 * Creates the session table from the shared definition if it does not exist (local mode and tests;
 * on AWS the CDK stack creates it from the same definition), and turns on the change stream of a
 * table made before it had one. Answers true if it created the table.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!Table?.StreamSpecification?.StreamEnabled) {
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW_TYPE },
        }),
      );
    }
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const index = (definition: typeof DUE_INDEX | typeof TENANT_INDEX) => ({
    IndexName: definition.indexName,
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: definition.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: Object.entries(KEY_ATTRIBUTE_TYPES).map(([AttributeName, AttributeType]) => ({
        AttributeName,
        AttributeType,
      })),
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [index(DUE_INDEX), index(TENANT_INDEX)],
      StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW_TYPE },
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
  return true;
}

/** The ARN of the table's change stream (the latest one, if it was turned off and on again). */
export async function streamArnOf(client: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = Table?.LatestStreamArn;
  if (!arn || !Table?.StreamSpecification?.StreamEnabled) throw new Error(`table ${tableName} has no stream`);
  return arn;
}
