import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Item } from './session-item.js';
import { DUE_INDEX, DUE_SHARDS } from './table-definition.js';

/**
 * Every item of one family in the sparse `due` index with `dueAt <= dueBy`: each shard's partition
 * (`partitionOf(shard)`) queried in turn, page by page. Sessions and chat volumes use distinct
 * partitions of the same index, so neither reader ever sees the other's items.
 */
export async function* queryDue(
  doc: DynamoDBDocumentClient,
  tableName: string,
  partitionOf: (shard: number) => string,
  dueBy: number,
): AsyncIterable<Item> {
  for (let shard = 0; shard < DUE_SHARDS; shard += 1) {
    let startKey: Item | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: DUE_INDEX.indexName,
          KeyConditionExpression: 'duePk = :shard AND dueAt <= :dueBy',
          ExpressionAttributeValues: { ':shard': partitionOf(shard), ':dueBy': dueBy },
          ExclusiveStartKey: startKey,
        }),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
