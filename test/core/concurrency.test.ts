import { describe, expect, it } from 'vitest';
import { getOrCreate } from '../../src/core/get-or-create.js';
import { systemClock } from '../../src/core/system.js';
import { countCommands, createTestTable } from '../support/dynamo.js';
import { coreDeps, FakeRuntime } from '../support/fakes.js';

describe('get-or-create under concurrency', () => {
  it('starts exactly one sandbox for 50 parallel calls on one chat, and all answer the same session', async () => {
    const { store } = await createTestTable();
    const runtime = new FakeRuntime(systemClock);
    runtime.launchDelayMs = 20;
    const deps = coreDeps(store, { clock: systemClock, runtime });
    const key = { tenant: 't1', chatId: '22222222-2222-2222-2222-222222222222' };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => getOrCreate(deps, { key, agentId: 'a1' })),
    );
    expect(runtime.launches).toBe(1);
    expect(new Set(results.map((result) => result.session.sessionId)).size).toBe(1);
    expect(results.filter((result) => result.created)).toHaveLength(1);
  });

  it('starts one sandbox per chat when many chats are created at once', async () => {
    const { store } = await createTestTable();
    const runtime = new FakeRuntime(systemClock);
    const deps = coreDeps(store, { clock: systemClock, runtime });
    const chats = Array.from(
      { length: 10 },
      (_, i) => `33333333-3333-4333-8333-${String(i).padStart(12, '0')}`,
    );
    const calls = chats.flatMap((chatId) =>
      Array.from({ length: 5 }, () => getOrCreate(deps, { key: { tenant: 't1', chatId }, agentId: 'a1' })),
    );
    const results = await Promise.all(calls);
    expect(runtime.launches).toBe(10);
    expect(new Set(results.map((result) => result.session.sessionId)).size).toBe(10);
  });
});

describe('DynamoDB calls per operation', () => {
  it('costs one write to reuse, and to create: the chat read, one take per scope, the claim and the record', async () => {
    const table = await createTestTable();
    const calls = countCommands(table.client);
    const deps = coreDeps(table.store);
    const key = { tenant: 't1', chatId: '44444444-4444-4444-8444-444444444444' };

    await getOrCreate(deps, { key, agentId: 'a1' });
    // The tenant's first create also reads its limits and creates its capacity item.
    expect(calls.names.slice().sort()).toEqual(
      [
        'UpdateItemCommand', // the reuse, missed: no item
        'GetItemCommand', // the chat record (its owner)
        'GetItemCommand', // the tenant's limits (then cached)
        'UpdateItemCommand', // the take, missed: no capacity item yet
        'PutItemCommand', // the capacity item
        'UpdateItemCommand', // the take
        'TransactWriteItemsCommand', // the claim, with the check of the chat record's purge mark
        'UpdateItemCommand', // the record of the task
      ].sort(),
    );
    expect(deps.runtime.launches).toBe(1);

    calls.reset();
    await getOrCreate(deps, { key, agentId: 'a1' });
    expect(calls.names).toEqual(['UpdateItemCommand']);

    calls.reset();
    await getOrCreate(deps, {
      key: { ...key, chatId: '55555555-5555-4555-8555-555555555555' },
      agentId: 'a1',
    });
    expect(calls.names).toEqual([
      'UpdateItemCommand',
      'GetItemCommand',
      'UpdateItemCommand',
      'TransactWriteItemsCommand',
      'UpdateItemCommand',
    ]);
  });
});
