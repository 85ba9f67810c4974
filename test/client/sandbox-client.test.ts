/**
 * `SandboxClient` against a real local control plane: every route, the typed errors of its problem
 * answers, listing across pages, waiting, following logs and the event stream.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  type EventMessage,
  isApiError,
  NotFoundError,
  type Sandbox,
  SandboxApiError,
  SandboxClient,
  SandboxEndedError,
  UnauthorizedError,
  ValidationError,
  type WaitProgress,
  WaitTimeoutError,
} from '../../src/client/index.js';
import { rejectionOf } from '../support/rejection.js';
import { startTestPlane, type TestPlane } from './local-plane.js';

describe('SandboxClient', () => {
  let server: TestPlane;
  let client: SandboxClient;

  beforeAll(async () => {
    server = await startTestPlane({ token: 'client-test-token' });
    client = new SandboxClient({ baseUrl: server.url, auth: { token: server.token } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates, reuses, reads, keeps alive and deletes a sandbox', async () => {
    const chatId = randomUUID();
    const created = await client.getOrCreate(chatId, {
      agentId: 'agent-crud',
      profile: 'chatty',
      ownerId: 'alice',
      metadata: { team: 'search' },
      waitSeconds: 20,
    });
    expect(created.created).toBe(true);
    expect(created.sandbox).toMatchObject({ chatId, status: 'running', ownerId: 'alice', profile: 'chatty' });
    expect(created.sandbox.endpoint?.port).toBeGreaterThan(0);

    const reused = await client.getOrCreate(chatId.replaceAll('-', '').toUpperCase(), {
      agentId: 'agent-crud',
      profile: 'chatty',
    });
    expect(reused.created).toBe(false);
    expect(reused.sandbox.sessionId).toBe(created.sandbox.sessionId);

    expect(await client.get(chatId)).toMatchObject({
      sessionId: created.sandbox.sessionId,
      status: 'running',
    });

    const kept = await client.keepalive(chatId, { idleTimeoutSeconds: 3_600 });
    expect(Date.parse(kept.expiresAt)).toBeGreaterThan(Date.parse(created.sandbox.expiresAt));
    expect((await client.keepalive(chatId)).sessionId).toBe(created.sandbox.sessionId);

    const deleted = await client.delete(chatId);
    expect(deleted.result).toBe('deleted');
    expect(deleted.sandbox?.sessionId).toBe(created.sandbox.sessionId);
    expect((await client.delete(chatId)).result).toBe('not_found');
    await expect.poll(async () => (await client.get(chatId)).status, { timeout: 15_000 }).toBe('stopped');

    const usage = await client.usage({ ownerId: 'alice' });
    expect(usage.owner?.ownerId).toBe('alice');
    expect(usage.tenant.limit).toBeGreaterThan(0);
  });

  it('answers health, shallow and deep', async () => {
    expect(await client.health()).toMatchObject({ status: 'ok' });
    expect(await client.health({ deep: true })).toMatchObject({ status: 'ok', checks: { store: 'ok' } });
  });

  it('throws NotFoundError for a chat without a sandbox and for an unknown route', async () => {
    const chatId = randomUUID();
    const error = await rejectionOf(client.get(chatId));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'sandbox_not_found' });
    expect((error as NotFoundError).problem?.type).toBe('urn:problem-type:agent-sandbox:sandbox_not_found');
    expect(isApiError(error, 'sandbox_not_found')).toBe(true);
    expect(isApiError(error, 'route_not_found')).toBe(false);

    expect(await rejectionOf(client.keepalive(chatId))).toBeInstanceOf(NotFoundError);
    const logs = await rejectionOf(client.logs(chatId));
    expect(logs).toMatchObject({ status: 404, code: 'sandbox_not_found' });
  });

  it('throws ValidationError with the field errors of a 422', async () => {
    const error = await rejectionOf(
      client.getOrCreate(randomUUID(), {
        agentId: 'agent-v',
        env: { 'lower-case': 'x' },
        idleTimeoutSeconds: 0,
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(validation.errors.map((field) => field.path)).toEqual(
      expect.arrayContaining([expect.stringContaining('env'), expect.stringContaining('idleTimeoutSeconds')]),
    );
    expect(await rejectionOf(client.get('not-a-uuid'))).toBeInstanceOf(ValidationError);
    expect(await rejectionOf(client.list({ cursor: 'forged' }))).toMatchObject({ code: 'invalid_cursor' });
  });

  it('throws UnauthorizedError for a wrong token', async () => {
    const stranger = new SandboxClient({ baseUrl: server.url, auth: { token: 'not-the-token' } });
    const error = await rejectionOf(stranger.list());
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toBeInstanceOf(SandboxApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await rejectionOf(new SandboxClient({ baseUrl: server.url }).get(randomUUID()))).toBeInstanceOf(
      UnauthorizedError,
    );
  });

  it('throws ConflictError when the chat has a live sandbox of another agent or owner', async () => {
    const chatId = randomUUID();
    await client.getOrCreate(chatId, { agentId: 'agent-one', profile: 'silent', ownerId: 'bob' });
    try {
      const agent = await rejectionOf(
        client.getOrCreate(chatId, { agentId: 'agent-two', profile: 'silent' }),
      );
      expect(agent).toBeInstanceOf(ConflictError);
      expect(agent).toMatchObject({ status: 409, code: 'sandbox_conflict' });
      const owner = await rejectionOf(
        client.getOrCreate(chatId, { agentId: 'agent-one', profile: 'silent', ownerId: 'carol' }),
      );
      expect(owner).toBeInstanceOf(ConflictError);
      expect(owner).toMatchObject({ code: 'owner_conflict' });
    } finally {
      await client.delete(chatId);
    }
  });

  it('lists one page at a time and every page with listAll', async () => {
    const agentId = `agent-list-${randomUUID().slice(0, 8)}`;
    const chatIds = Array.from({ length: 5 }, () => randomUUID());
    for (const chatId of chatIds) await client.getOrCreate(chatId, { agentId, profile: 'silent' });
    try {
      const first = await client.list({ agentId, limit: 2 });
      expect(first.items).toHaveLength(2);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await client.list({ agentId, limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((item) => item.chatId)).not.toContain(first.items[0]!.chatId);

      const all: Sandbox[] = [];
      for await (const sandbox of client.listAll({ agentId, limit: 2, status: ['provisioning', 'running'] }))
        all.push(sandbox);
      expect(all.map((sandbox) => sandbox.chatId).sort()).toEqual([...chatIds].sort());
      expect(await client.list({ agentId, status: 'stopped' })).toEqual({ items: [], nextCursor: null });
    } finally {
      for (const chatId of chatIds) await client.delete(chatId);
    }
  });

  it('waits until a sandbox runs, reporting progress', async () => {
    const chatId = randomUUID();
    const created = await client.getOrCreate(chatId, { agentId: 'agent-wait', profile: 'chatty' });
    const progress: WaitProgress[] = [];
    try {
      const sandbox = await client.waitUntilRunning(chatId, {
        timeoutMs: 20_000,
        onProgress: (report) => progress.push(report),
      });
      expect(sandbox).toMatchObject({ sessionId: created.sandbox.sessionId, status: 'running' });
      expect(progress.at(-1)?.sandbox.status).toBe('running');
      expect(progress.at(-1)?.polls).toBe(progress.length);
    } finally {
      await client.delete(chatId);
    }
  });

  it('throws SandboxEndedError when the sandbox ends and WaitTimeoutError when time runs out', async () => {
    const broken = randomUUID();
    await client.getOrCreate(broken, { agentId: 'agent-broken', profile: 'broken' });
    const ended = await rejectionOf(client.waitUntilRunning(broken, { timeoutMs: 20_000 }));
    expect(ended).toBeInstanceOf(SandboxEndedError);
    expect(['failed', 'stopped', 'stopping']).toContain((ended as SandboxEndedError).sandbox?.status);

    const silent = randomUUID();
    await client.getOrCreate(silent, { agentId: 'agent-silent', profile: 'silent' });
    try {
      const started = Date.now();
      const timedOut = await rejectionOf(client.waitUntilRunning(silent, { timeoutMs: 1_500 }));
      expect(timedOut).toBeInstanceOf(WaitTimeoutError);
      expect((timedOut as WaitTimeoutError).sandbox?.status).toBe('provisioning');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await client.delete(silent);
    }
  });

  it("reads a sandbox's logs and follows them until it has stopped", async () => {
    const chatId = randomUUID();
    await client.getOrCreate(chatId, { agentId: 'agent-logs', profile: 'chatty', waitSeconds: 20 });
    await expect
      .poll(async () => (await client.logs(chatId)).lines.map((line) => line.message), { timeout: 10_000 })
      .toContain(`hello ${chatId}`);
    const page = await client.logs(chatId, { tail: 1 });
    expect(page).toMatchObject({ chatId, lines: [{ message: `hello ${chatId}` }] });
    expect(await rejectionOf(client.logs(chatId, { cursor: 'not-a-cursor' }))).toBeInstanceOf(
      ValidationError,
    );

    const seen: string[] = [];
    const following = (async () => {
      for await (const line of client.followLogs(chatId, { intervalMs: 100 })) {
        seen.push(line.message);
        if (line.message.startsWith('hello')) await client.delete(chatId);
      }
    })();
    await following;
    expect(seen).toEqual([`hello ${chatId}`, 'bye']);
    expect(['stopped', 'failed']).toContain((await client.get(chatId)).status);
  });

  it('ends following logs when aborted', async () => {
    const chatId = randomUUID();
    await client.getOrCreate(chatId, { agentId: 'agent-abort', profile: 'silent' });
    const controller = new AbortController();
    try {
      const lines: string[] = [];
      const following = (async () => {
        for await (const line of client.followLogs(chatId, { signal: controller.signal, intervalMs: 50 }))
          lines.push(line.message);
      })();
      controller.abort();
      await following;
      expect(lines).toEqual([]);
    } finally {
      await client.delete(chatId);
    }
  });

  it("streams the tenant's events and ends when aborted", async () => {
    const controller = new AbortController();
    const received: EventMessage[] = [];
    const chatId = randomUUID();
    // From the hub's start (id 0), so events made before the stream is open are not missed either.
    const streaming = (async () => {
      for await (const message of client.events({ lastEventId: '0', signal: controller.signal })) {
        if (message.data.detail.chatId === chatId) received.push(message);
      }
    })();
    await client.getOrCreate(chatId, { agentId: 'agent-events', profile: 'chatty', waitSeconds: 20 });
    await expect
      .poll(() => received.map((message) => message.data.detail.status), { timeout: 10_000 })
      .toEqual(['provisioning', 'running']);
    expect(received[0]).toMatchObject({ event: 'Sandbox State Change', id: expect.stringMatching(/^\d+$/) });
    controller.abort();
    await streaming;

    // Resuming after the first event starts with the second.
    const replay = new AbortController();
    const resumed: EventMessage[] = [];
    for await (const message of client.events({ lastEventId: received[0]!.id!, signal: replay.signal })) {
      if (message.data.detail.chatId !== chatId) continue;
      resumed.push(message);
      replay.abort();
    }
    expect(resumed.map((message) => message.id)).toEqual([received[1]!.id]);
    await client.delete(chatId);
  });
});
