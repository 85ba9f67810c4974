import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { localDynamoClient } from '../../src/adapters/dynamodb/client.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';

export interface TestTable {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly store: DynamoSessionStore;
}

/** A fresh session table on the run's DynamoDB Local, from the shared table definition. */
export async function createTestTable(): Promise<TestTable> {
  const client = localDynamoClient(inject('dynamoEndpoint'));
  const tableName = `sessions-${randomUUID()}`;
  await ensureTable(client, tableName);
  return { client, tableName, store: new DynamoSessionStore(client, tableName) };
}

/** Records the name of every command the client sends (shared by document clients made from it). */
export function countCommands(client: DynamoDBClient): { names: string[]; reset(): void } {
  const names: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    names,
    reset: () => {
      names.length = 0;
    },
  };
}
