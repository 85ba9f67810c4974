import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { StartupError } from '../../src/local/startup-error.js';
import { silentLogger } from '../support/fakes.js';

type Json = ReturnType<typeof JSON.parse>;

describe('local control plane, end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-plane-'));
  const config = parseLocalConfig({
    PORT: '0',
    SANDBOX_DATA_DIR: dataDir,
    SANDBOX_API_TOKEN: 'e2e-token-1',
    SANDBOX_TABLE_NAME: `e2e-${randomUUID()}`,
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    SANDBOX_RECONCILE_INTERVAL_SECONDS: '1',
    SANDBOX_API_TOKENS: JSON.stringify({
      [createHash('sha256').update('e2e-token-b').digest('hex')]: 'tenant-b',
    }),
  });
  let plane: LocalControlPlane | null = null;

  afterEach(async () => {
    await plane?.stop();
    plane = null;
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const api = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${plane!.url}${path}`, {
      method,
      headers: { Authorization: 'Bearer e2e-token-1', 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };

  it('creates a sandbox whose endpoint answers, deletes it, and stops everything on shutdown', async () => {
    plane = await startLocalControlPlane(config, silentLogger);
    const chatId = randomUUID();
    const created = await api('PUT', `/v1/chats/${chatId}/sandbox`, {
      agentId: 'agent-alpha',
      waitSeconds: 20,
    });
    expect(created.status).toBe(201);
    expect(created.body.sandbox.status).toBe('running');
    const { host, port } = created.body.sandbox.endpoint;
    const agent = await (await fetch(`http://${host}:${port}/`)).json();
    expect(agent).toMatchObject({
      chatId,
      sessionId: created.body.sandbox.sessionId,
      agentId: 'agent-alpha',
    });

    const reused = await api('PUT', `/v1/chats/${chatId}/sandbox`, { agentId: 'agent-alpha' });
    expect(reused.status).toBe(200);
    // The example agent's output, through the logs route: its start and the request above.
    await expect
      .poll(async () =>
        (await api('GET', `/v1/chats/${chatId}/sandbox/logs`)).body.lines.map((l: Json) => l.message),
      )
      .toEqual([`agent agent-alpha of chat ${chatId} listening on 127.0.0.1:${port}`, 'GET /']);

    // Another tenant's token (SANDBOX_API_TOKENS) sees none of it.
    const asB = await fetch(`${plane.url}/v1/chats/${chatId}/sandbox`, {
      headers: { Authorization: 'Bearer e2e-token-b' },
    });
    expect(asB.status).toBe(404);

    const deleted = await api('DELETE', `/v1/chats/${chatId}/sandbox`);
    expect(deleted.body.result).toBe('deleted');
    await expect
      .poll(async () => (await api('GET', `/v1/chats/${chatId}/sandbox`)).body.sandbox.status, {
        timeout: 10_000,
      })
      .toBe('stopped');
    await expect(fetch(`http://${host}:${port}/`)).rejects.toThrow();

    const second = await api('PUT', `/v1/chats/${randomUUID()}/sandbox`, {
      agentId: 'agent-alpha',
      waitSeconds: 20,
    });
    expect(second.body.sandbox.status).toBe('running');
    const tasks = (await plane.deps.runtime.inventory()).tasks;
    expect(tasks).toHaveLength(1);
    await plane.stop();
    plane = null;

    const session = await startedAgain().then((restarted) =>
      restarted.deps.store.get({ tenant: 'local', chatId: tasks[0]!.chatId }),
    );
    expect(session).toMatchObject({ status: 'stopped', stopReason: 'shutdown' });
    expect((await plane!.deps.runtime.inventory()).tasks).toEqual([]);
  });

  it("serves the original service's routes: create waits for running, volume_host_path only the chat's own", async () => {
    plane = await startLocalControlPlane(config, silentLogger);
    const chatId = randomUUID();
    const own = join(dataDir, 'chats', 'local', chatId);
    const elsewhere = await api('POST', '/api/v1/create', { chat_id: chatId, volume_host_path: '/etc' });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.errors[0].message).toContain(own);
    const created = await api('POST', '/api/v1/create', { chat_id: chatId, volume_host_path: `${own}/` });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ chat_id: chatId, agent_id: 'default', status: 'running' });
    const agent = await (
      await fetch(`http://${created.body.endpoint.ip}:${created.body.endpoint.port}/`)
    ).json();
    expect(agent).toMatchObject({ chatId, agentId: 'default', sessionId: created.body.session_id });
    expect(created.body.container_id).toBe(`local/${created.body.session_id}`);
    expect((await fetch(`${plane.url}/api/v1/health`)).status).toBe(200);
    const deleted = await api('DELETE', `/api/v1/sandboxes/${chatId}`);
    expect(deleted.body).toEqual({
      chat_id: chatId,
      result: 'deleted',
      session_id: created.body.session_id,
      container_id: created.body.container_id,
    });
    const again = await api('DELETE', `/api/v1/sandboxes/${chatId}`);
    expect(again.body).toEqual({
      chat_id: chatId,
      result: 'not_found',
      session_id: null,
      container_id: null,
    });
  });

  it('answers HEAD with X-Request-Id, and a chunked body without Content-Type with 415', async () => {
    plane = await startLocalControlPlane(config, silentLogger);
    const head = await fetch(`${plane.url}/v1/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const chatId = randomUUID();
    await api('PUT', `/v1/chats/${chatId}/sandbox`, { agentId: 'agent-alpha' });
    const chunked = await fetch(`${plane.url}/v1/chats/${chatId}/sandbox/keepalive`, {
      method: 'POST',
      headers: { Authorization: 'Bearer e2e-token-1' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"idleTimeoutSeconds":5}'));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(415);
    // No body at all (no Content-Length either) is a keepalive with the sandbox's own timeout.
    const bare = await fetch(`${plane.url}/v1/chats/${chatId}/sandbox/keepalive`, {
      method: 'POST',
      headers: { Authorization: 'Bearer e2e-token-1' },
    });
    expect(bare.status).toBe(200);
  });

  it('prints one console line per sandbox transition, with the output path when a sandbox exits', async () => {
    const lines: string[] = [];
    const recording = {
      info: (message: string) => lines.push(`INFO ${message}`),
      warn: (message: string) => lines.push(`WARN ${message}`),
      error: (message: string) => lines.push(`ERROR ${message}`),
    };
    const quitter = parseLocalConfig({
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name === 'PATH')),
      PORT: '0',
      SANDBOX_DATA_DIR: dataDir,
      SANDBOX_API_TOKEN: 'e2e-token-1',
      SANDBOX_TABLE_NAME: config.tableName,
      DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      SANDBOX_RECONCILE_INTERVAL_SECONDS: '1',
      SANDBOX_LOCAL_PROFILES: JSON.stringify({
        quitter: {
          command: [
            process.execPath,
            '-e',
            "require('node:http').createServer((q, r) => r.end()).listen(Number(process.env.PORT), process.env.HOST); setTimeout(() => process.exit(3), 3000)",
          ],
        },
      }),
    });
    plane = await startLocalControlPlane(quitter, recording);
    const chatId = randomUUID();
    await api('PUT', `/v1/chats/${chatId}/sandbox`, { agentId: 'a', profile: 'quitter', waitSeconds: 10 });
    await expect
      .poll(() => lines.filter((line) => line.includes('sandbox')), { timeout: 15_000 })
      .toEqual([
        'INFO sandbox launching: agent a, profile quitter',
        expect.stringMatching(/^INFO sandbox running at 127\.0\.0\.1:\d+$/),
        expect.stringMatching(/^WARN sandbox exited on its own; its output: .*\/logs\/[0-9a-f-]{36}\.log$/),
      ]);
  });

  it('refuses a second control plane on the same data folder, and a taken port, with a clear error', async () => {
    plane = await startLocalControlPlane(config, silentLogger);
    await expect(startLocalControlPlane(config, silentLogger)).rejects.toThrow(
      new StartupError(
        `${dataDir} is in use by another control plane (pid ${process.pid}); stop it, or set SANDBOX_DATA_DIR to another folder.`,
      ),
    );
    const taken = Number(new URL(plane.url).port);
    const other = mkdtempSync(join(tmpdir(), 'sandbox-plane-'));
    try {
      await expect(
        startLocalControlPlane({ ...config, dataDir: other, port: taken }, silentLogger),
      ).rejects.toThrow(
        new StartupError(`127.0.0.1:${taken} is already in use; stop what listens there, or set PORT.`),
      );
      // The refused start let go of its folder.
      const next = await startLocalControlPlane({ ...config, dataDir: other }, silentLogger);
      await next.stop();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('stops sandboxes that expire', async () => {
    plane = await startLocalControlPlane(
      { ...config, lifecycle: { ...config.lifecycle, minIdleTimeoutSeconds: 1 } },
      silentLogger,
    );
    const chatId = randomUUID();
    const created = await api('PUT', `/v1/chats/${chatId}/sandbox`, {
      agentId: 'agent-alpha',
      idleTimeoutSeconds: 1,
      waitSeconds: 20,
    });
    expect(created.body.sandbox.status).toBe('running');
    await expect
      .poll(async () => (await api('GET', `/v1/chats/${chatId}/sandbox`)).body.sandbox, { timeout: 15_000 })
      .toMatchObject({ status: 'stopped', stopReason: 'expired' });
    expect((await plane.deps.runtime.inventory()).tasks).toEqual([]);
  });

  async function startedAgain(): Promise<LocalControlPlane> {
    plane = await startLocalControlPlane(config, silentLogger);
    return plane;
  }
});

describe('local configuration', () => {
  it('has no well-known token: without SANDBOX_API_TOKEN the data folder makes its own', () => {
    expect(parseLocalConfig({}).apiToken).toBeUndefined();
    expect(parseLocalConfig({ SANDBOX_API_TOKEN: 'a-secret-of-mine' }).apiToken).toBe('a-secret-of-mine');
    expect(parseLocalConfig({}).exposed).toBe(false);
    expect(parseLocalConfig({ HOST: '0.0.0.0' }).exposed).toBe(true);
  });

  it('reads extra host names and profile allow-lists', () => {
    const config = parseLocalConfig({
      SANDBOX_ALLOWED_HOSTS: 'devbox.lan, other.lan',
      SANDBOX_LOCAL_PROFILES: '{"strict":{"command":["node","a.js"],"envAllow":["APP_*"]}}',
    });
    expect(config.allowedHosts).toEqual(['devbox.lan', 'other.lan']);
    expect(config.lifecycle.envAllowLists).toEqual({ strict: ['APP_*'] });
    expect(() =>
      parseLocalConfig({ SANDBOX_LOCAL_PROFILES: '{"x":{"command":["a"],"envAllow":["a b"]}}' }),
    ).toThrow(/SANDBOX_LOCAL_PROFILES/);
  });

  it('refuses lifecycle settings that contradict each other at start, naming the variables', () => {
    // These used to start, then answer 422 to every PUT that named no idle timeout or lifetime.
    expect(() => parseLocalConfig({ SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS: '30' })).toThrow(
      'SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS: must be at least SANDBOX_MIN_IDLE_TIMEOUT_SECONDS (60)',
    );
    expect(() => parseLocalConfig({ SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS: '100000' })).toThrow(
      'SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS: must be at most 86400',
    );
    expect(() => parseLocalConfig({ SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS: '600' })).toThrow(
      'SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS: must be at least SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS (900)',
    );
    expect(parseLocalConfig({}).lifecycle).toMatchObject({
      launchLeaseSeconds: 30,
      provisioningTimeoutSeconds: 120,
    });
  });

  it('accepts more tenants in the format the functions use (SANDBOX_API_TOKENS)', async () => {
    const hash = createHash('sha256').update('tenant-b-secret').digest('hex');
    const parsed = parseLocalConfig({ SANDBOX_API_TOKENS: JSON.stringify({ [hash]: 'tenant-b' }) });
    expect([...parsed.tenantsByTokenSha256]).toEqual([[hash, 'tenant-b']]);
    expect(() => parseLocalConfig({ SANDBOX_API_TOKENS: '{"nothex":"b"}' })).toThrow(/SANDBOX_API_TOKENS/);
  });

  it('names the malformed variable', () => {
    expect(() => parseLocalConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseLocalConfig({ SANDBOX_LOCAL_PROFILES: '{"x":{}}' })).toThrow(/SANDBOX_LOCAL_PROFILES/);
  });
});
