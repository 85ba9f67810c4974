/**
 * The DynamoDB clients retry `TransactionConflictException`: DynamoDB answers a plain write with it
 * while a transaction (a chat's first claim) holds the same item, and the SDK alone does not retry
 * it. A loopback server speaking DynamoDB's JSON protocol answers the conflict first, then success;
 * the real client, with its real retry middleware, must get the success.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoClient, localDynamoClient } from '../../src/adapters/dynamodb/client.js';

let server: Server;
let endpoint: string;
/** Answers to give, in order; each request takes the next (the last repeats). */
let script: { status: number; type?: string }[] = [];
let requests = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const answer = script[Math.min(requests, script.length - 1)]!;
      requests += 1;
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify(
          answer.type ? { __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, message: 'busy' } : {},
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const update = new UpdateItemCommand({
  TableName: 't',
  Key: { pk: { S: 'CHAT#t#c' }, sk: { S: 'SANDBOX' } },
  UpdateExpression: 'SET lastActiveAt = :now',
  ExpressionAttributeValues: { ':now': { N: '1' } },
});

const clients = {
  'the functions’ client': () => {
    // Lambda hands the role's credentials over in the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    return createDynamoClient({ endpoint, region: 'us-east-1' });
  },
  'the DynamoDB Local client': () => localDynamoClient(endpoint),
};

describe.each(Object.entries(clients))('%s', (_name, make) => {
  it('retries a write DynamoDB refused for a transaction in progress on the item', async () => {
    script = [{ status: 400, type: 'TransactionConflictException' }, { status: 200 }];
    requests = 0;
    const client = make();
    try {
      await expect(client.send(update)).resolves.toBeDefined();
      expect(requests).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it('still gives up on a lost condition at once, and on conflicts after its attempts', async () => {
    script = [{ status: 400, type: 'ConditionalCheckFailedException' }];
    requests = 0;
    const client = make();
    try {
      await expect(client.send(update)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect(requests).toBe(1);
      script = [{ status: 400, type: 'TransactionConflictException' }];
      requests = 0;
      await expect(client.send(update)).rejects.toMatchObject({ name: 'TransactionConflictException' });
      expect(requests).toBe(3);
    } finally {
      client.destroy();
    }
  });
});
