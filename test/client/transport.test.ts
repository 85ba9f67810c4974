/**
 * What the client makes of answers the control plane itself never gives (a gateway's refusals, a
 * proxy's HTML, throttling), its retries, and what it sends, against a scripted local HTTP server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidRequestError,
  NetworkError,
  QuotaExceededError,
  SandboxApiError,
  SandboxClient,
  ServerError,
  UnauthorizedError,
  UnavailableError,
} from '../../src/client/index.js';
import { rejectionOf } from '../support/rejection.js';
import { json, type StubServer, startStubServer } from './stub-server.js';

const sandbox = (chatId: string, status: string) => ({
  chatId,
  sessionId: randomUUID(),
  agentId: 'agent-a',
  profile: 'default',
  ownerId: null,
  status,
  endpoint: status === 'running' ? { host: '127.0.0.1', port: 4000 } : null,
  createdAt: '2026-11-22T01:02:03.000Z',
  lastActiveAt: '2026-11-22T01:02:03.000Z',
  expiresAt: '2026-11-22T01:17:03.000Z',
  maxExpiresAt: '2026-11-22T09:02:03.000Z',
  stoppedAt: null,
  stopReason: null,
  metadata: {},
});

const problem = (status: number, code: string, more: Record<string, unknown> = {}) => ({
  type: `urn:problem-type:agent-sandbox:${code}`,
  title: code,
  status,
  code,
  detail: `detail of ${code}`,
  ...more,
});

describe('SandboxClient transport', () => {
  let stub: StubServer;
  let client: SandboxClient;
  beforeAll(async () => {
    stub = await startStubServer();
  });
  afterAll(async () => {
    await stub?.close();
  });
  beforeEach(() => {
    stub.requests.length = 0;
    client = new SandboxClient({ baseUrl: stub.url, auth: { token: 'stub-token' } });
  });

  it('sends the bearer token, JSON and the path under a stage prefix', async () => {
    const chatId = randomUUID();
    stub.answer(json(201, { sandbox: sandbox(chatId, 'provisioning'), created: true }));
    const staged = new SandboxClient({ baseUrl: `${stub.url}/prod/`, auth: { token: 'stub-token' } });
    const result = await staged.getOrCreate(chatId, { agentId: 'agent-a', waitSeconds: 5 });
    expect(result.created).toBe(true);
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'PUT', url: `/prod/v1/chats/${chatId}/sandbox` });
    expect(request!.headers).toMatchObject({
      authorization: 'Bearer stub-token',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request!.body)).toEqual({ agentId: 'agent-a', waitSeconds: 5 });

    stub.answer(json(200, { items: [], nextCursor: null }));
    await client.list({ status: ['running', 'provisioning'], limit: 2, cursor: 'a b' });
    expect(stub.requests[1]!.url).toBe('/v1/sandboxes?status=running%2Cprovisioning&limit=2&cursor=a%20b');
  });

  it('wraps answers that are not the API: HTML, a gateway refusal, an empty body, unknown codes', async () => {
    stub.answer({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' });
    const gateway = await rejectionOf(client.health());
    expect(gateway).toBeInstanceOf(UnavailableError);
    expect(gateway).toMatchObject({ status: 502, code: 'unexpected_response', problem: null });
    expect((gateway as SandboxApiError).detail).toContain('Bad Gateway');

    stub.answer(json(403, { message: 'Forbidden' }, { 'x-amzn-RequestId': 'req-403' }));
    const forbidden = await rejectionOf(client.get(randomUUID()));
    expect(forbidden).toBeInstanceOf(UnauthorizedError);
    expect(forbidden).toMatchObject({ status: 403, detail: 'Forbidden', requestId: 'req-403' });

    stub.answer({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>portal</html>' });
    const portal = await rejectionOf(client.health());
    expect(portal).toBeInstanceOf(SandboxApiError);
    expect(portal).toMatchObject({ status: 200, code: 'unexpected_response' });

    stub.answer({ status: 500 });
    expect(await rejectionOf(client.health())).toBeInstanceOf(ServerError);

    // A body Lambda could not take: API Gateway's own 413 becomes the API's code.
    stub.answer(json(413, { message: 'Request Entity Too Large' }, { 'apigw-requestid': 'req-413' }));
    const tooLarge = await rejectionOf(client.putFile(randomUUID(), 'big.bin', new Uint8Array(8)));
    expect(tooLarge).toMatchObject({ status: 413, code: 'payload_too_large', requestId: 'req-413' });
    expect((tooLarge as SandboxApiError).detail).toMatch(/Request Entity Too Large.*4 MiB/);

    stub.answer(json(418, problem(418, 'teapot_brewing')));
    const unknown = await rejectionOf(client.health());
    expect(unknown).toBeInstanceOf(InvalidRequestError);
    expect(unknown).toMatchObject({ code: 'unexpected_response', detail: 'detail of teapot_brewing' });
  });

  it('reads Retry-After, X-Request-Id and the limit of a 429', async () => {
    const limit = { scope: 'owner', max: 3, current: 3 };
    stub.answer(
      json(429, problem(429, 'quota_exceeded', { limit }), { 'retry-after': '7', 'x-request-id': 'req-429' }),
    );
    const error = await rejectionOf(client.getOrCreate(randomUUID(), { agentId: 'agent-a' }));
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 7, requestId: 'req-429', limit });
  });

  it('retries the PUT on 503 only when asked, and never the keepalive', async () => {
    const chatId = randomUUID();
    const unavailable = json(503, problem(503, 'capacity_unavailable'), { 'retry-after': '0' });
    stub.answer(unavailable, unavailable, json(200, { sandbox: sandbox(chatId, 'running'), created: false }));
    const result = await client.getOrCreate(chatId, { agentId: 'agent-a' }, { retries: 2 });
    expect(result.sandbox.status).toBe('running');
    expect(stub.requests.map((request) => request.method)).toEqual(['PUT', 'PUT', 'PUT']);

    stub.requests.length = 0;
    stub.answer(unavailable);
    expect(await rejectionOf(client.getOrCreate(chatId, { agentId: 'agent-a' }))).toMatchObject({
      code: 'capacity_unavailable',
      retryAfterSeconds: 0,
    });
    expect(stub.requests).toHaveLength(1);

    const retrying = new SandboxClient({ baseUrl: stub.url, auth: { token: 't' }, retries: 3 });
    stub.requests.length = 0;
    expect(await rejectionOf(retrying.keepalive(chatId))).toBeInstanceOf(UnavailableError);
    expect(stub.requests).toHaveLength(1);
  });

  it('throws NetworkError when nothing answers, and the abort reason when aborted', async () => {
    const closed = await startStubServer();
    await closed.close();
    const offline = new SandboxClient({ baseUrl: closed.url, retries: 1 });
    const error = await rejectionOf(offline.getOrCreate(randomUUID(), { agentId: 'agent-a' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).not.toBeInstanceOf(SandboxApiError);
    expect((error as NetworkError).message).toContain('ECONNREFUSED');

    const controller = new AbortController();
    controller.abort();
    const aborted = await rejectionOf(client.health({ signal: controller.signal }));
    expect(aborted).toMatchObject({ name: 'AbortError' });
  });

  it('answers a degraded deep health check instead of throwing', async () => {
    stub.answer(json(503, { status: 'degraded', version: '1.2.3', checks: { store: 'unreachable' } }));
    expect(await client.health({ deep: true })).toEqual({
      status: 'degraded',
      version: '1.2.3',
      checks: { store: 'unreachable' },
    });
    expect(stub.requests[0]!.url).toBe('/v1/health?deep=true');

    stub.answer(json(503, problem(503, 'capacity_unavailable')));
    expect(await rejectionOf(client.health({ deep: true }))).toBeInstanceOf(UnavailableError);
  });

  it('refuses an event stream that is not one', async () => {
    stub.answer(json(200, { items: [] }));
    const events = client.events({ reconnect: false });
    const error = await rejectionOf(events.next());
    expect(error).toBeInstanceOf(SandboxApiError);
    expect(error).toMatchObject({ code: 'unexpected_response', status: 200 });
    expect(stub.requests[0]).toMatchObject({ url: '/v1/events' });
    expect(stub.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('sends a file with its preconditions and owner, and reads a partial answer', async () => {
    const chatId = randomUUID();
    stub.answer(json(200, { file: {}, created: false }));
    await client.putFile(chatId, 'docs/report.pdf', 'pdf?', { ifMatch: '"v1"', ownerId: 'alice' });
    expect(stub.requests[0]).toMatchObject({
      method: 'PUT',
      url: `/v1/chats/${chatId}/file?path=docs%2Freport.pdf&ownerId=alice`,
      body: 'pdf?',
    });
    expect(stub.requests[0]!.headers).toMatchObject({
      'if-match': '"v1"',
      'content-type': 'application/octet-stream',
      authorization: 'Bearer stub-token',
    });
    expect(stub.requests[0]!.headers['if-none-match']).toBeUndefined();

    const bytes = Uint8Array.from([0, 159, 146, 150, 255]);
    stub.answer({
      status: 206,
      headers: {
        'content-type': 'image/png',
        etag: '"v2"',
        'last-modified': 'Sun, 22 Nov 2026 01:02:03 GMT',
        'content-range': 'bytes 95-99/100',
      },
      body: bytes,
    });
    const part = await client.getFile(chatId, 'a.png', { range: { suffix: 5 } });
    expect(stub.requests[1]!.headers.range).toBe('bytes=-5');
    expect(part).toEqual({
      body: bytes,
      etag: '"v2"',
      size: 100,
      contentType: 'image/png',
      modifiedAt: '2026-11-22T01:02:03.000Z',
      range: { start: 95, end: 99 },
    });
  });

  it('refuses a file answer without an ETag, or a partial one without its range', async () => {
    stub.answer({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: 'x' });
    expect(await rejectionOf(client.getFile(randomUUID(), 'a.bin'))).toMatchObject({
      code: 'unexpected_response',
      status: 200,
    });
    stub.answer({ status: 206, headers: { etag: '"v"' }, body: 'x' });
    expect(
      await rejectionOf(client.getFile(randomUUID(), 'a.bin', { range: { start: 0, end: 0 } })),
    ).toMatchObject({ code: 'unexpected_response', status: 206 });
    expect(stub.requests[1]!.headers.range).toBe('bytes=0-0');
  });

  it('waits through 503 and 429 answers, long-polling within the deadline', async () => {
    const chatId = randomUUID();
    stub.answer(
      json(503, problem(503, 'capacity_unavailable'), { 'retry-after': '0' }),
      json(429, { message: 'Too Many Requests' }, { 'retry-after': '0' }),
      json(200, { sandbox: sandbox(chatId, 'provisioning') }),
      json(200, { sandbox: sandbox(chatId, 'running') }),
    );
    const statuses: string[] = [];
    const running = await client.waitUntilRunning(chatId, {
      timeoutMs: 10_000,
      onProgress: ({ sandbox: seen }) => statuses.push(seen.status),
    });
    expect(running.status).toBe('running');
    expect(statuses).toEqual(['provisioning', 'running']);
    const waits = stub.requests.map((request) =>
      Number(new URL(request.url, stub.url).searchParams.get('waitSeconds')),
    );
    expect(waits).toHaveLength(4);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(0);
    for (const wait of waits) expect(wait).toBeLessThanOrEqual(10);
  });

  it('does not wait through other errors', async () => {
    stub.answer(json(404, problem(404, 'sandbox_not_found')));
    expect(await rejectionOf(client.waitUntilRunning(randomUUID(), { timeoutMs: 10_000 }))).toMatchObject({
      code: 'sandbox_not_found',
    });
    expect(stub.requests).toHaveLength(1);
  });
});
