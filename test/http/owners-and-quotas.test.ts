import { describe, expect, it } from 'vitest';
import { httpHarness, json, problem } from './harness.js';

const chat = (n: number) => `77777777-7777-4777-8777-${String(n).padStart(12, '0')}`;

describe('owners, quotas and usage over HTTP', () => {
  const harness = () =>
    httpHarness({ config: { quotas: { tenantMaxLive: 2, ownerMaxLive: 1, repairGraceSeconds: 60 } } });

  it('shows the owner on the sandbox and filters the list by it', async () => {
    const h = await harness();
    const created = await json(await h.put(chat(1), { agentId: 'a', ownerId: 'alice@example.com' }));
    expect(created.sandbox.ownerId).toBe('alice@example.com');
    await h.put(chat(2), { agentId: 'a' });
    const listed = await json(await h.call('GET', '/v1/sandboxes?ownerId=alice@example.com'));
    expect(listed.items.map((item: { chatId: string }) => item.chatId)).toEqual([chat(1)]);
    const all = await json(await h.call('GET', '/v1/sandboxes'));
    expect(all.items.map((item: { ownerId: string | null }) => item.ownerId).sort()).toEqual([
      'alice@example.com',
      null,
    ]);
  });

  it('answers 409 owner_conflict for another owner of the chat', async () => {
    const h = await harness();
    await h.put(chat(1), { agentId: 'a', ownerId: 'alice' });
    const response = await h.put(chat(1), { agentId: 'a', ownerId: 'bob' });
    expect(response.status).toBe(409);
    expect((await problem(response)).code).toBe('owner_conflict');
  });

  it('answers 429 quota_exceeded with Retry-After and the limit, and starts nothing', async () => {
    const h = await harness();
    await h.put(chat(1), { agentId: 'a', ownerId: 'alice' });
    const owner = await h.put(chat(2), { agentId: 'a', ownerId: 'alice' });
    expect(owner.status).toBe(429);
    expect(owner.headers.get('retry-after')).toBe('30');
    expect(await problem(owner)).toMatchObject({
      code: 'quota_exceeded',
      limit: { scope: 'owner', max: 1, current: 1 },
    });
    await h.put(chat(2), { agentId: 'a', ownerId: 'bob' });
    const tenant = await h.put(chat(3), { agentId: 'a' });
    expect(await problem(tenant)).toMatchObject({ limit: { scope: 'tenant', max: 2, current: 2 } });
    expect(h.deps.runtime.launches).toBe(2);
    expect((await h.call('GET', `/v1/chats/${chat(3)}/sandbox`)).status).toBe(404);
  });

  it('answers usage: live counts, limits and days, for the tenant and one owner', async () => {
    const h = await harness();
    await h.put(chat(1), { agentId: 'a', ownerId: 'alice' });
    const tenant = await json(await h.call('GET', '/v1/usage'));
    expect(tenant).toEqual({
      tenant: { live: 1, limit: 2 },
      owner: null,
      from: '2026-11-16',
      to: '2026-11-22',
      days: [],
      storage: null,
    });
    const owner = await json(await h.call('GET', '/v1/usage?ownerId=alice&from=2026-11-01&to=2026-11-30'));
    expect(owner.owner).toEqual({ ownerId: 'alice', live: 1, limit: 1 });
    for (const query of [
      'from=2026-11-30&to=2026-11-01',
      'from=2024-01-01&to=2026-11-30',
      'from=yesterday',
      'ownerId=a%20b',
    ]) {
      const refused = await h.call('GET', `/v1/usage?${query}`);
      expect(refused.status, query).toBe(422);
    }
  });

  it('refuses an owner id outside its alphabet', async () => {
    const h = await harness();
    const response = await h.put(chat(1), { agentId: 'a', ownerId: 'alice bob' });
    expect(response.status).toBe(422);
    expect((await problem(response)).errors?.map((error) => error.path)).toEqual(['ownerId']);
  });
});
