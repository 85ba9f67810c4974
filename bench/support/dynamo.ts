/** The bench's DynamoDB helpers: fresh tables, a call counter at the SDK client, and bulk loading. */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import type { Item } from '../../src/adapters/dynamodb/session-item.js';
import { pool } from './stats.js';

/** Creates a fresh session table from the shared definition; answers its name. */
export async function createBenchTable(client: DynamoDBClient, purpose: string): Promise<string> {
  const tableName = `bench-${purpose}-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  return tableName;
}

/** Every command a client sent since the last reset, with the items its reads returned and scanned. */
export interface CallCounter {
  /** Command names in the order they were sent (document-client commands report their base name). */
  readonly names: string[];
  /** Sum of `Count` over Query and Scan responses, plus BatchGetItem's items: items returned. */
  itemsReturned: number;
  /** Sum of `ScannedCount` over Query and Scan responses, plus BatchGetItem's items: items read. */
  itemsScanned: number;
  reset(): void;
  /** Command names with how often each was sent, e.g. `UpdateItem×1, PutItem×1`. */
  summary(): string;
}

/**
 * Counts the commands `client` sends, at the SDK client (middleware step `initialize`); document
 * clients made from it share its middleware stack, so their commands are counted too.
 */
export function countCalls(client: DynamoDBClient): CallCounter {
  const counter: CallCounter = {
    names: [],
    itemsReturned: 0,
    itemsScanned: 0,
    reset() {
      counter.names.length = 0;
      counter.itemsReturned = 0;
      counter.itemsScanned = 0;
    },
    summary() {
      const byName = new Map<string, number>();
      for (const name of counter.names) byName.set(name, (byName.get(name) ?? 0) + 1);
      return [...byName].map(([name, times]) => `${name}×${times}`).join(', ');
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counter.names.push(String(context.commandName).replace(/Command$/, ''));
      const result = await next(args);
      const output = result.output as { Count?: unknown; ScannedCount?: unknown; Responses?: unknown };
      if (typeof output.Count === 'number') counter.itemsReturned += output.Count;
      if (typeof output.ScannedCount === 'number') counter.itemsScanned += output.ScannedCount;
      if (output.Responses && typeof output.Responses === 'object') {
        // BatchGetItem reads exactly the items it returns.
        const items = Object.values(output.Responses as Record<string, unknown[]>).reduce(
          (sum, list) => sum + list.length,
          0,
        );
        counter.itemsReturned += items;
        counter.itemsScanned += items;
      }
      return result;
    },
    { step: 'initialize', name: 'benchCountCalls' },
  );
  return counter;
}

const BATCH_SIZE = 25;
const MAX_BATCH_ROUNDS = 20;

/**
 * Writes `items` with BatchWriteItem, 25 a call and `parallel` calls in flight, retrying unprocessed
 * items with a short backoff. Answers the number of BatchWriteItem calls made.
 */
export async function batchPut(
  doc: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  parallel: number,
): Promise<number> {
  let calls = 0;
  const batches = Math.ceil(items.length / BATCH_SIZE);
  await pool(batches, parallel, async (batch) => {
    let requests = items
      .slice(batch * BATCH_SIZE, (batch + 1) * BATCH_SIZE)
      .map((item) => ({ PutRequest: { Item: item } }));
    for (let round = 0; requests.length > 0; round += 1) {
      if (round >= MAX_BATCH_ROUNDS)
        throw new Error(`BatchWriteItem left ${requests.length} items unprocessed`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** Math.min(round, 6)));
      calls += 1;
      const { UnprocessedItems } = await doc.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
        request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
      );
    }
  });
  return calls;
}
