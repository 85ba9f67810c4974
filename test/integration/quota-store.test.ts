/**
 * The capacity item at its largest, on DynamoDB Local: a scope holding `MAX_LIVE_LIMIT` units is
 * still one item DynamoDB accepts, while a map far beyond it is refused for its size, which is why
 * the limit is capped.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoQuotaStore, quotaKey } from '../../src/adapters/dynamodb/quota-store.js';
import { MAX_LIVE_LIMIT } from '../../src/core/quota-ports.js';
import { tenantScope } from '../../src/core/quotas.js';
import { createTestTable } from '../support/dynamo.js';

/** A full scope item as takes leave it: chat id -> `<sessionId>@<epoch ms>`. */
function members(count: number): Record<string, string> {
  const now = Date.now();
  return Object.fromEntries(Array.from({ length: count }, () => [randomUUID(), `${randomUUID()}@${now}`]));
}

describe('capacity item size', () => {
  it('holds the highest limit in one item, takes and refuses at it, and a far larger map does not fit', {
    timeout: 30_000,
  }, async () => {
    const { client, tableName } = await createTestTable();
    const doc = DynamoDBDocumentClient.from(client);
    const quotas = new DynamoQuotaStore(client, tableName);
    const scope = tenantScope('big');
    const item = { ...quotaKey(scope), kind: 'tenant', tenant: 'big', members: members(MAX_LIVE_LIMIT - 1) };
    const bytes = Buffer.byteLength(JSON.stringify(item.members));
    expect(bytes).toBeLessThan(200 * 1024);
    await doc.send(new PutCommand({ TableName: tableName, Item: item }));

    const now = Date.now();
    const last = randomUUID();
    const options = { limit: MAX_LIVE_LIMIT, now, graceMs: 60_000 };
    expect(await quotas.take(scope, last, `${randomUUID()}@${now}`, options)).toEqual({
      ok: true,
      previous: null,
    });
    expect(await quotas.count(scope)).toBe(MAX_LIVE_LIMIT);
    expect(await quotas.take(scope, randomUUID(), `${randomUUID()}@${now}`, options)).toEqual({
      ok: false,
      full: true,
      current: MAX_LIVE_LIMIT,
    });

    // Two and a half times the limit passes DynamoDB's 400 KB item size.
    const oversized = { ...item, sk: 'OVERSIZED', members: members(MAX_LIVE_LIMIT * 2.5) };
    await expect(doc.send(new PutCommand({ TableName: tableName, Item: oversized }))).rejects.toThrow(
      /size/i,
    );
  });
});

describe('release of a unit held with another token', () => {
  it('keeps the unit and marks the scope due so that a recount judged before it cannot settle it', async () => {
    const { client, tableName } = await createTestTable();
    const quotas = new DynamoQuotaStore(client, tableName);
    const scope = tenantScope('t');
    const chatId = randomUUID();
    const t0 = Date.now();
    await quotas.take(scope, chatId, `other-session@${t0}`, { limit: 5, now: t0, graceMs: 1000 });
    const due = async (at: number) => {
      const scopes = [];
      for await (const state of quotas.listDue(at)) scopes.push(state.scope);
      return scopes;
    };
    // A recount after the grace settles the scope (it judged every unit).
    await quotas.settleRecount(scope, t0);
    expect(await due(t0 + 10_000)).toEqual([]);

    await quotas.release(scope, chatId, 'ended-session', t0 + 5_000);
    expect(await quotas.count(scope)).toBe(1);
    expect(await due(t0 + 5_000)).toEqual([scope]);
    // A recount that judged units only up to before the release leaves the scope due.
    await quotas.settleRecount(scope, t0 + 4_000);
    expect(await due(t0 + 10_000)).toEqual([scope]);
  });
});
