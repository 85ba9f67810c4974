import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DUE_INDEX } from '../../src/adapters/dynamodb/table-definition.js';
import { SandboxError } from '../../src/core/errors.js';
import type { Session } from '../../src/core/model.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { T0 } from '../support/fakes.js';
import { sessionOf } from '../support/sessions.js';

function session(overrides: Partial<Session> = {}): Session {
  return sessionOf(key, T0, {
    sessionId: 's1',
    status: 'running',
    endpoint: { host: '10.0.0.1', port: 8000 },
    runtimeRef: 'task/s1',
    metadata: { team: 'search' },
    env: { LOG_LEVEL: 'debug' },
    dueAt: T0 + 900_000,
    launchAttempts: 1,
    ...overrides,
  });
}

const key = { tenant: 't1', chatId: '11111111-1111-1111-1111-111111111111' };
const reuseAt = (
  now: number,
  overrides: Partial<{ agentId: string; profile: string; expiresAt: number }> = {},
) => ({
  agentId: 'a1',
  profile: 'default',
  now,
  expiresAt: now + 900_000,
  idleTimeoutSeconds: 900,
  ...overrides,
});

describe('DynamoSessionStore', () => {
  let table: TestTable;
  beforeEach(async () => {
    table = await createTestTable();
  });

  it('round-trips a session through claim and get', async () => {
    const claimed = await table.store.claim(session(), null);
    expect(claimed).toEqual({ ok: true, previous: null });
    expect(await table.store.get(key)).toEqual(session());
  });

  it('refuses a claim when the chat has an item and no version is expected, answering the item', async () => {
    await table.store.claim(session(), null);
    expect(await table.store.claim(session({ sessionId: 's2' }), null)).toEqual({
      ok: false,
      current: session(),
    });
  });

  it('claims over the expected version and answers the replaced item', async () => {
    await table.store.claim(session(), null);
    const result = await table.store.claim(session({ sessionId: 's2', version: 2 }), 1);
    expect(result).toEqual({ ok: true, previous: session() });
    expect(await table.store.claim(session({ sessionId: 's3', version: 3 }), 1)).toEqual({
      ok: false,
      current: session({ sessionId: 's2', version: 2 }),
    });
  });

  it('reuses a live unexpired session of the same agent and profile in one write', async () => {
    await table.store.claim(session(), null);
    const result = await table.store.reuse(key, reuseAt(T0 + 1000));
    expect(result.ok).toBe(true);
    expect(result.ok && result.session).toMatchObject({
      lastActiveAt: T0 + 1000,
      expiresAt: T0 + 901_000,
      version: 2,
    });
  });

  it.each([
    ['another agent', reuseAt(T0 + 1000, { agentId: 'a2' })],
    ['another profile', reuseAt(T0 + 1000, { profile: 'gpu' })],
    ['an expired session', reuseAt(T0 + 900_000)],
    ['an expiry past the lifetime cap', reuseAt(T0 + 1000, { expiresAt: T0 + 3_600_001 })],
    ['an expiry before the due time', reuseAt(T0 + 1000, { expiresAt: T0 + 899_999 })],
  ])('does not reuse %s and answers the current item', async (_name, request) => {
    await table.store.claim(session(), null);
    expect(await table.store.reuse(key, request)).toEqual({ ok: false, current: session() });
  });

  it('does not reuse a terminal session', async () => {
    await table.store.claim(session({ status: 'stopped', dueAt: null }), null);
    const result = await table.store.reuse(key, reuseAt(T0 + 1000));
    expect(result.ok).toBe(false);
  });

  it('answers a missing item as current null', async () => {
    expect(await table.store.reuse(key, reuseAt(T0))).toEqual({ ok: false, current: null });
    expect(await table.store.update(key, { sessionId: 's1' }, { dueAt: 1 })).toEqual({
      ok: false,
      current: null,
    });
  });

  it('applies an update only when session id, version and status match', async () => {
    await table.store.claim(session(), null);
    expect((await table.store.update(key, { sessionId: 's2' }, { dueAt: 5 })).ok).toBe(false);
    expect((await table.store.update(key, { sessionId: 's1', version: 7 }, { dueAt: 5 })).ok).toBe(false);
    expect(
      (await table.store.update(key, { sessionId: 's1', statusIn: ['stopping'] }, { dueAt: 5 })).ok,
    ).toBe(false);
    const applied = await table.store.update(
      key,
      { sessionId: 's1', version: 1, statusIn: ['running'] },
      { dueAt: 5 },
    );
    expect(applied.ok && applied.session).toMatchObject({ dueAt: 5, version: 2 });
  });

  it('removes null fields and takes a terminal item off the due index', async () => {
    const { client, tableName } = table;
    await table.store.claim(session(), null);
    const dueItems = async () =>
      (
        await DynamoDBDocumentClient.from(client).send(
          new QueryCommand({
            TableName: tableName,
            IndexName: DUE_INDEX.indexName,
            KeyConditionExpression: 'duePk = :pk',
            ExpressionAttributeValues: { ':pk': (await rawItem(table)).duePk },
          }),
        )
      ).Items ?? [];
    expect(await dueItems()).toHaveLength(1);
    const ended = await table.store.update(
      key,
      { sessionId: 's1' },
      { status: 'stopped', endpoint: null, dueAt: null, stoppedAt: T0, ttl: 123 },
    );
    expect(ended.ok && ended.session).toMatchObject({
      status: 'stopped',
      endpoint: null,
      dueAt: null,
      ttl: 123,
    });
    const raw = await rawItem(table);
    expect(raw).not.toHaveProperty('duePk');
    expect(raw).not.toHaveProperty('dueAt');
    expect(raw).not.toHaveProperty('endpoint');
    expect(raw.ttl).toBe(123);
  });

  it('never writes a ttl on a live item', async () => {
    await table.store.claim(session(), null);
    expect(await rawItem(table)).not.toHaveProperty('ttl');
  });

  it('lists due sessions across shards, and only those due', async () => {
    const chats = Array.from(
      { length: 40 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    await Promise.all(
      chats.map((chatId, i) =>
        table.store.claim(
          session({ chatId, sessionId: `s${i}`, dueAt: i < 30 ? T0 + i : T0 + 10_000 }),
          null,
        ),
      ),
    );
    await table.store.claim(
      session({ chatId: 'ffffffff-0000-4000-8000-000000000000', status: 'stopped', dueAt: null }),
      null,
    );
    const due: Session[] = [];
    for await (const item of table.store.listDue(T0 + 1000)) due.push(item);
    expect(due.map((item) => item.sessionId).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `s${i}`).sort(),
    );
  });

  it('lists a tenant newest first with a cursor, filters, and refuses another tenant cursor', async () => {
    for (let i = 0; i < 5; i += 1) {
      const chatId = `00000000-0000-4000-8000-00000000000${i}`;
      await table.store.claim(
        session({ chatId, sessionId: `s${i}`, createdAt: T0 + i, agentId: i % 2 === 0 ? 'even' : 'odd' }),
        null,
      );
    }
    await table.store.claim(session({ tenant: 't2', sessionId: 'other' }), null);
    const first = await table.store.listByTenant('t1', { limit: 2 });
    expect(first.items.map((item) => item.sessionId)).toEqual(['s4', 's3']);
    const second = await table.store.listByTenant('t1', { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((item) => item.sessionId)).toEqual(['s2', 's1']);
    const even = await table.store.listByTenant('t1', { limit: 2, agentId: 'even' });
    expect(even.items.map((item) => item.sessionId)).toEqual(['s4', 's2']);
    const rest = await table.store.listByTenant('t1', {
      limit: 2,
      agentId: 'even',
      cursor: even.nextCursor!,
    });
    expect(rest.items.map((item) => item.sessionId)).toEqual(['s0']);
    expect(rest.nextCursor).toBeNull();
    // A last page that is exactly full ends the list: no cursor to an empty page.
    const odd = await table.store.listByTenant('t1', { limit: 2, agentId: 'odd' });
    expect(odd.items.map((item) => item.sessionId)).toEqual(['s3', 's1']);
    expect(odd.nextCursor).toBeNull();
    const third = await table.store.listByTenant('t1', { limit: 1, cursor: second.nextCursor! });
    expect(third.items.map((item) => item.sessionId)).toEqual(['s0']);
    expect(third.nextCursor).toBeNull();
    const t2 = await table.store.listByTenant('t2', { limit: 10 });
    expect(t2.items.map((item) => item.sessionId)).toEqual(['other']);
    await expect(table.store.listByTenant('t2', { limit: 2, cursor: first.nextCursor! })).rejects.toThrow(
      SandboxError,
    );
    await expect(table.store.listByTenant('t1', { limit: 2, cursor: 'not-a-cursor' })).rejects.toThrow(
      SandboxError,
    );
  });

  it('reads many chats in batches of 100, in the order asked, with null for a chat without an item', async () => {
    const chats = Array.from(
      { length: 150 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    await Promise.all(
      chats.map((chatId, i) => table.store.claim(session({ chatId, sessionId: `s${i}` }), null)),
    );
    const asked = [
      ...chats.map((chatId) => ({ tenant: 't1', chatId })).reverse(),
      { tenant: 't1', chatId: 'ffffffff-0000-4000-8000-000000000000' },
      { tenant: 't1', chatId: chats[0]! },
    ];
    const read = await table.store.getMany(asked);
    expect(read.map((item) => item?.sessionId ?? null)).toEqual([
      ...chats.map((_, i) => `s${i}`).reverse(),
      null,
      's0',
    ]);
  });

  it('grants the lease to one holder until it expires or is released', async () => {
    expect(await table.store.acquireLease('r', 'a', T0, T0 + 1000)).toBe(true);
    expect(await table.store.acquireLease('r', 'b', T0 + 500, T0 + 1500)).toBe(false);
    expect(await table.store.acquireLease('r', 'b', T0 + 1001, T0 + 2000)).toBe(true);
    await table.store.releaseLease('r', 'a');
    expect(await table.store.acquireLease('r', 'c', T0 + 1002, T0 + 3000)).toBe(false);
    await table.store.releaseLease('r', 'b');
    expect(await table.store.acquireLease('r', 'c', T0 + 1003, T0 + 3000)).toBe(true);
  });
});

async function rawItem(table: TestTable): Promise<Record<string, unknown>> {
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const { Item } = await DynamoDBDocumentClient.from(table.client).send(
    new GetCommand({
      TableName: table.tableName,
      Key: { pk: `CHAT#${key.tenant}#${key.chatId}`, sk: 'SANDBOX' },
    }),
  );
  return Item ?? {};
}
