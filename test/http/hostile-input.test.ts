/**
 * Hostile input, generated: thousands of requests with broken, oversized, forged or tricky bodies,
 * env, metadata, cursors, ids, headers and content types, sent through `app.request`. Whatever is
 * sent, the answer is never a 5xx, every 4xx is problem+json with a catalogued code, and a refused
 * request starts no sandbox and writes no session.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RESERVED_ENV_PATTERNS } from '../../src/core/env-policy.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { localHostGuard } from '../../src/local/host-guard.js';
import { AUTH, httpHarness } from './harness.js';

type Harness = Awaited<ReturnType<typeof httpHarness>>;

const uuid = fc.uuid({ version: 4 });
const chatIdText = fc.oneof(
  uuid,
  uuid.map((id) => id.replaceAll('-', '').toUpperCase()),
  fc.constantFrom('..', '%2e%2e', '..%2f..%2fetc', '%00', 'null', '', ' ', '{}', 'a'.repeat(300)),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);

/** Names that look like env names, reserved ones and JavaScript's special keys among them. */
const envName = fc.oneof(
  fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/),
  fc.constantFrom(...RESERVED_ENV_PATTERNS.map((pattern) => pattern.replaceAll('*', 'X'))),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'path', 'A\u0000B'),
  fc.string({ maxLength: 8 }),
);
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '"'.repeat(50),
    '$(id)',
    '../../etc/passwd',
    'x'.repeat(5000),
  ),
);
const stringMap = (key: fc.Arbitrary<string>) =>
  fc.dictionary(key, hostileString, { maxKeys: 8 }).map((entries) => entries as Record<string, string>);

const number = fc.oneof(
  fc.integer({ min: -5, max: 90_000 }),
  fc.constantFrom(0, 1, 59, 60, 86_400, 86_401, 2 ** 53, -0, 1.5, Number.MAX_SAFE_INTEGER),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Mostly `usual`, sometimes anything: so that many generated requests get past validation. */
const mostly = <T>(usual: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: hostile });

const putBody = fc.record(
  {
    agentId: mostly(fc.constantFrom('agent-a', 'agent-b'), fc.oneof(hostileString, anyJson)),
    profile: mostly(fc.constant('default'), fc.oneof(fc.constant('gpu'), hostileString)),
    idleTimeoutSeconds: mostly(fc.constantFrom(60, 900, 3600), fc.oneof(number, anyJson)),
    maxLifetimeSeconds: mostly(fc.constantFrom(3600, 86_400), fc.oneof(number, anyJson)),
    env: mostly(
      fc.dictionary(fc.stringMatching(/^APP_[A-Z0-9_]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
      fc.oneof(stringMap(envName), anyJson),
    ),
    metadata: mostly(
      fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
      fc.oneof(stringMap(fc.oneof(fc.string({ maxLength: 70 }), envName)), anyJson),
    ),
    waitSeconds: mostly(fc.constant(0), fc.oneof(fc.constant(1), number, anyJson)),
  },
  { requiredKeys: ['agentId'] },
);

/** A body as raw text: JSON of a tricky object, broken JSON, special keys spliced in, deep nesting. */
const rawBody = fc.oneof(
  { weight: 6, arbitrary: putBody.map((body) => JSON.stringify(body)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(putBody, anyJson).map(([body, extra]) => JSON.stringify({ ...body, extra })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('env', 'metadata', '__proto__'),
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
      )
      .map(([field, key]) => `{"agentId":"agent-a","${field}":{"${key}":"x"}}`),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  },
  { weight: 1, arbitrary: fc.constant(`{"agentId":"a","metadata":{"big":"${'x'.repeat(70_000)}"}}`) },
);

const contentType = mostly(
  fc.constant('application/json'),
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/merge-patch+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json\u0000',
    '',
    ';;;',
    undefined,
  ),
) as fc.Arbitrary<string | undefined>;

/** A cursor: forged JSON arrays of strings and numbers, base64url or not. */
const cursor = fc.oneof(
  fc
    .array(
      fc.oneof(fc.string({ maxLength: 60 }), fc.integer(), fc.constantFrom('CHAT#local#', '', 'SANDBOX')),
      {
        maxLength: 3,
      },
    )
    .map((parts) => Buffer.from(JSON.stringify(parts)).toString('base64url')),
  fc.string({ maxLength: 80 }),
  fc.constant(Buffer.from('["CHAT#local#",""]').toString('base64url')),
);

const query = fc
  .record(
    {
      status: fc.oneof(
        fc.constantFrom('running', 'running,stopped', 'sleeping', ',', ''),
        fc.string({ maxLength: 20 }),
      ),
      agentId: fc.oneof(fc.constant('agent-a'), fc.string({ maxLength: 200 })),
      limit: fc.oneof(fc.integer({ min: -2, max: 200 }).map(String), fc.string({ maxLength: 5 })),
      cursor,
      waitSeconds: fc.oneof(
        fc.constantFrom('0', '1', '26', '-1', 'maybe', '1e3'),
        fc.string({ maxLength: 4 }),
      ),
      deep: fc.constantFrom('true', 'false', 'maybe'),
    },
    { requiredKeys: [] },
  )
  .map((params) => new URLSearchParams(params as Record<string, string>).toString());

const headerSet = fc.record({
  authorization: fc.oneof(
    { weight: 12, arbitrary: fc.constant(AUTH.Authorization) },
    { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic abc', 'Bearer wrong-token', '') },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  ),
  host: fc.oneof(
    { weight: 12, arbitrary: fc.constant('localhost') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('attacker.example', '127.0.0.1.nip.io', '[::1]:1', 'localhost:0'),
    },
  ),
  contentType,
});

const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
const path = fc.oneof(
  chatIdText.map((id) => `/v1/chats/${id}/sandbox`),
  chatIdText.map((id) => `/v1/chats/${id}/sandbox/keepalive`),
  fc.constantFrom('/v1/sandboxes', '/v1/health', '/v1/openapi.json', '/v1/', '/', '/v1/chats//sandbox'),
  fc.string({ maxLength: 30 }).map((text) => `/v1/${encodeURIComponent(text)}`),
);

/** Header values the Fetch API itself refuses are not sent (a client could not send them either). */
function headersOf(set: {
  authorization: string;
  host: string;
  contentType: string | undefined;
}): Headers | null {
  try {
    const headers = new Headers({ Host: set.host });
    if (set.authorization) headers.set('Authorization', set.authorization);
    if (set.contentType !== undefined) headers.set('Content-Type', set.contentType);
    return headers;
  } catch {
    return null;
  }
}

const CODES = new Set<string>(ERROR_CODES);

/** Sends one request and checks the answer against the invariants; answers its status. */
async function check(
  h: Harness,
  request: { method: string; url: string; headers: Headers; body?: string },
): Promise<number> {
  const launchesBefore = h.deps.runtime.launches;
  const response = await h.app.request(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined || request.method === 'GET' || request.method === 'HEAD'
      ? {}
      : { body: request.body }),
  });
  const text = await response.text();
  const context = `${request.method} ${request.url} -> ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, context).toBeLessThan(500);
  if (response.status >= 400 && request.method !== 'HEAD') {
    expect(response.headers.get('content-type'), context).toBe('application/problem+json');
    const problem = JSON.parse(text) as { code: string; status: number };
    expect(CODES.has(problem.code), context).toBe(true);
    expect(problem.status, context).toBe(response.status);
  }
  if (response.status >= 400) expect(h.deps.runtime.launches, context).toBe(launchesBefore);
  return response.status;
}

describe('hostile input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await httpHarness({ acceptsHost: localHostGuard('127.0.0.1') });
  });

  it('never answers get-or-create bodies with a 5xx, and a refused one starts and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(uuid, rawBody, headerSet, async (chatId, body, set) => {
        const headers = headersOf(set);
        if (!headers) return;
        const status = await check(h, { method: 'PUT', url: `/v1/chats/${chatId}/sandbox`, headers, body });
        if (status >= 400) expect(await h.deps.store.get({ tenant: 'local', chatId })).toBeNull();
      }),
      { numRuns: 1_500 },
    );
  });

  it('never answers any route, method, query or header with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        method,
        path,
        query,
        headerSet,
        fc.option(rawBody, { nil: undefined }),
        async (m, p, q, set, body) => {
          const headers = headersOf(set);
          if (!headers) return;
          await check(h, {
            method: m,
            url: q ? `${p}?${q}` : p,
            headers,
            ...(body === undefined ? {} : { body }),
          });
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('never answers a forged list cursor with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(cursor, async (value) => {
        const headers = new Headers({ ...AUTH, Host: 'localhost' });
        const status = await check(h, {
          method: 'GET',
          url: `/v1/sandboxes?cursor=${encodeURIComponent(value)}`,
          headers,
        });
        expect([200, 422]).toContain(status);
      }),
      { numRuns: 500 },
    );
  });
});
