import { beforeEach, describe, expect, it, vi } from 'vitest';
import { LaunchError } from '../../src/core/errors.js';
import { AUTH, CHAT, httpHarness, json, problem } from './harness.js';

describe('sandbox routes', () => {
  let h: Awaited<ReturnType<typeof httpHarness>>;
  beforeEach(async () => {
    h = await httpHarness();
  });

  /** The chat's session once its launch is recorded (the PUT that started it is still waiting). */
  async function launchedSession() {
    let stored = await h.deps.store.get({ tenant: 'local', chatId: CHAT });
    await vi.waitFor(async () => {
      stored = await h.deps.store.get({ tenant: 'local', chatId: CHAT });
      expect(stored?.runtimeRef).toBeTruthy();
    });
    return stored;
  }

  it('creates with 201, then reuses with 200 and the same session', async () => {
    const created = await h.put(CHAT, { agentId: 'agent-alpha', metadata: { team: 'search' } });
    expect(created.status).toBe(201);
    const first = await json(created);
    expect(first).toMatchObject({
      created: true,
      sandbox: {
        chatId: CHAT,
        agentId: 'agent-alpha',
        profile: 'default',
        status: 'provisioning',
        endpoint: null,
        metadata: { team: 'search' },
      },
    });
    expect(first.sandbox.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.sandbox).not.toHaveProperty('env');
    const reused = await h.put(CHAT, { agentId: 'agent-alpha' });
    expect(reused.status).toBe(200);
    expect(await json(reused)).toMatchObject({
      created: false,
      sandbox: { sessionId: first.sandbox.sessionId },
    });
  });

  it('canonicalises the chat id: 32 hex digits in upper case address the same sandbox', async () => {
    const created = await json(await h.put(CHAT, { agentId: 'a1' }));
    const compact = CHAT.replaceAll('-', '').toUpperCase();
    const got = await h.call('GET', `/v1/chats/${compact}/sandbox`);
    expect(got.status).toBe(200);
    expect((await json(got)).sandbox).toMatchObject({ chatId: CHAT, sessionId: created.sandbox.sessionId });
  });

  it('answers 409 sandbox_conflict for another agent', async () => {
    await h.put(CHAT, { agentId: 'a1' });
    const response = await h.put(CHAT, { agentId: 'a2' });
    expect(response.status).toBe(409);
    expect(await problem(response)).toMatchObject({ code: 'sandbox_conflict', status: 409 });
  });

  it('answers 422 unknown_profile', async () => {
    const response = await h.put(CHAT, { agentId: 'a1', profile: 'gpu' });
    expect(response.status).toBe(422);
    expect((await problem(response)).code).toBe('unknown_profile');
  });

  it('answers 503 launch_failed with Retry-After and no internals', async () => {
    h.deps.runtime.failNext = {
      error: new LaunchError('CannotPullContainerError: secret-registry', false),
      times: 1,
    };
    const response = await h.put(CHAT, { agentId: 'a1' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const body = await problem(response);
    expect(body.code).toBe('launch_failed');
    expect(JSON.stringify(body)).not.toContain('secret-registry');
  });

  it('answers 503 launch_failed without the runtime reason when the sandbox fails during the wait', async () => {
    h.deps.clock.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const pending = h.put(CHAT, { agentId: 'a1', waitSeconds: 5 });
    const stored = await launchedSession();
    const { onRuntimeEvent } = await import('../../src/core/runtime-events.js');
    await onRuntimeEvent(h.deps, {
      kind: 'stopped',
      tenant: 'local',
      chatId: CHAT,
      sessionId: stored!.sessionId,
      ref: stored!.runtimeRef!,
      reason: 'CannotPullContainerError: pull access denied for 123456789012.dkr.ecr/secret-repo',
    });
    const response = await pending;
    expect(response.status).toBe(503);
    const body = await problem(response);
    expect(body.code).toBe('launch_failed');
    expect(JSON.stringify(body)).not.toContain('secret-repo');
  });

  it('answers 503 capacity_unavailable when the chat stays contended', async () => {
    h.deps.store.reuse = async () => ({ ok: false, current: null });
    h.deps.store.claim = async () => ({ ok: false, current: null });
    const response = await h.put(CHAT, { agentId: 'a1', ownerId: 'alice' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await problem(response)).code).toBe('capacity_unavailable');
    // Every round's lost claim gave back the units it took.
    expect(await h.deps.quotas.count({ kind: 'tenant', tenant: 'local' })).toBe(0);
    expect(await h.deps.quotas.count({ kind: 'owner', tenant: 'local', ownerId: 'alice' })).toBe(0);
  });

  it('answers 500 internal_error without detail when something unexpected breaks', async () => {
    h.deps.store.get = async () => {
      throw new Error('ECONNRESET at dynamodb.local:8000 stack...');
    };
    const response = await h.call('GET', `/v1/chats/${CHAT}/sandbox`);
    expect(response.status).toBe(500);
    const body = await problem(response);
    expect(body).toMatchObject({ code: 'internal_error', detail: 'The request could not be completed.' });
    expect(JSON.stringify(body)).not.toContain('ECONNRESET');
  });

  it('holds the PUT with waitSeconds until the sandbox leaves provisioning', async () => {
    // Real sleeps here, so the PUT is still polling when the running event arrives.
    h.deps.clock.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const pending = h.put(CHAT, { agentId: 'a1', waitSeconds: 5 });
    const { onRuntimeEvent } = await import('../../src/core/runtime-events.js');
    const stored = await launchedSession();
    await onRuntimeEvent(h.deps, {
      kind: 'running',
      tenant: 'local',
      chatId: CHAT,
      sessionId: stored!.sessionId,
      ref: stored!.runtimeRef!,
      endpoint: { host: '127.0.0.1', port: 9000 },
    });
    const body = await json(await pending);
    expect(body.sandbox).toMatchObject({ status: 'running', endpoint: { host: '127.0.0.1', port: 9000 } });
  });

  it('ends a long-poll by the host deadline, whatever waitSeconds asked for', async () => {
    const { createApp } = await import('../../src/http/app.js');
    const { localTokenAuth } = await import('../../src/http/auth.js');
    const app = createApp({
      core: h.deps,
      authenticate: localTokenAuth('test-token-123'),
      version: '1',
      answerBy: () => h.deps.clock.now() + 1_000,
    });
    const start = h.deps.clock.now();
    const response = await app.request(`/v1/chats/${CHAT}/sandbox`, {
      method: 'PUT',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agentId: 'a1', waitSeconds: 25 }),
    });
    expect(response.status).toBe(201);
    expect((await json(response)).sandbox.status).toBe('provisioning');
    // The manual clock moves only by the long-poll's sleeps.
    expect(h.deps.clock.now() - start).toBeGreaterThanOrEqual(1_000);
    expect(h.deps.clock.now() - start).toBeLessThan(1_300);
    const got = await app.request(`/v1/chats/${CHAT}/sandbox?waitSeconds=25`, { headers: AUTH });
    expect((await json(got)).sandbox.status).toBe('provisioning');
    expect(h.deps.clock.now() - start).toBeLessThan(2_600);
  });

  it('gets the sandbox, and 404 sandbox_not_found for a chat without one', async () => {
    await h.put(CHAT, { agentId: 'a1' });
    expect((await h.call('GET', `/v1/chats/${CHAT}/sandbox`)).status).toBe(200);
    const missing = await h.call('GET', '/v1/chats/22222222-2222-4222-8222-222222222222/sandbox');
    expect(missing.status).toBe(404);
    expect((await problem(missing)).code).toBe('sandbox_not_found');
  });

  it('keeps alive with or without a body, and 404 without a live sandbox', async () => {
    await h.put(CHAT, { agentId: 'a1' });
    const bare = await h.call('POST', `/v1/chats/${CHAT}/sandbox/keepalive`);
    expect(bare.status).toBe(200);
    const withBody = await h.call('POST', `/v1/chats/${CHAT}/sandbox/keepalive`, {
      body: { idleTimeoutSeconds: 120 },
    });
    expect(withBody.status).toBe(200);
    const { sandbox } = await json(withBody);
    expect(Date.parse(sandbox.expiresAt) - Date.parse(sandbox.lastActiveAt)).toBe(120_000);
    const none = await h.call('POST', '/v1/chats/22222222-2222-4222-8222-222222222222/sandbox/keepalive');
    expect(none.status).toBe(404);
  });

  it('deletes idempotently', async () => {
    await h.put(CHAT, { agentId: 'a1' });
    const deleted = await h.call('DELETE', `/v1/chats/${CHAT}/sandbox`);
    expect(await json(deleted)).toMatchObject({
      result: 'deleted',
      sandbox: { status: 'stopping', stopReason: 'deleted' },
    });
    const again = await h.call('DELETE', `/v1/chats/${CHAT}/sandbox`);
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({ result: 'not_found' });
  });

  it('lists newest first with filters and a cursor', async () => {
    const chats = ['a', 'b', 'c'].map((c) => `${c.repeat(8)}-0000-4000-8000-000000000000`);
    for (const [i, chatId] of chats.entries()) {
      h.deps.clock.advance(1000);
      await h.put(chatId, { agentId: i === 1 ? 'other' : 'a1' });
    }
    const page = await json(await h.call('GET', '/v1/sandboxes?limit=2'));
    expect(page.items.map((s: { chatId: string }) => s.chatId)).toEqual([chats[2], chats[1]]);
    const next = await json(await h.call('GET', `/v1/sandboxes?limit=2&cursor=${page.nextCursor}`));
    expect(next.items.map((s: { chatId: string }) => s.chatId)).toEqual([chats[0]]);
    const other = await json(await h.call('GET', '/v1/sandboxes?agentId=other&status=provisioning,running'));
    expect(other.items.map((s: { chatId: string }) => s.chatId)).toEqual([chats[1]]);
    const bad = await h.call('GET', '/v1/sandboxes?cursor=garbage');
    expect(bad.status).toBe(422);
    expect((await problem(bad)).code).toBe('invalid_cursor');
  });

  it('keeps tenants apart: another token sees none of the sandboxes', async () => {
    const { createApp } = await import('../../src/http/app.js');
    const { bearerTokenAuth } = await import('../../src/http/auth.js');
    const { createHash } = await import('node:crypto');
    const digest = (token: string) => createHash('sha256').update(token).digest('hex');
    const app = createApp({
      core: h.deps,
      authenticate: bearerTokenAuth(
        new Map([
          [digest('token-a'), 'tenant-a'],
          [digest('token-b'), 'tenant-b'],
        ]),
      ),
      version: '1',
    });
    const as = (token: string, method: string, path: string, body?: unknown) =>
      app.request(path, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    await as('token-a', 'PUT', `/v1/chats/${CHAT}/sandbox`, { agentId: 'a1' });
    expect((await as('token-b', 'GET', `/v1/chats/${CHAT}/sandbox`)).status).toBe(404);
    expect(await json(await as('token-b', 'GET', '/v1/sandboxes'))).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(await json(await as('token-b', 'DELETE', `/v1/chats/${CHAT}/sandbox`))).toEqual({
      result: 'not_found',
    });
    const own = await as('token-b', 'PUT', `/v1/chats/${CHAT}/sandbox`, { agentId: 'a2' });
    expect(own.status).toBe(201);
    expect((await as('token-a', 'GET', `/v1/chats/${CHAT}/sandbox`)).status).toBe(200);
  });

  it('sends the request env to the runtime but never returns it', async () => {
    const response = await h.put(CHAT, { agentId: 'a1', env: { LOG_LEVEL: 'debug' } });
    expect(JSON.stringify(await json(response))).not.toContain('LOG_LEVEL');
    expect([...h.deps.runtime.tasks.values()][0]?.spec.env).toEqual({ LOG_LEVEL: 'debug' });
  });

  it('answers 401 without credentials or with a wrong token', async () => {
    const none = await h.app.request(`/v1/chats/${CHAT}/sandbox`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await problem(none)).code).toBe('unauthorized');
    const wrong = await h.app.request('/v1/sandboxes', { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });
});
