/**
 * Generators of hostile HTTP requests (fast-check): broken, oversized, forged or tricky bodies, env,
 * metadata, cursors, ids, headers and content types. The hostile-input tests send them through
 * `app.request`; `bench/hostile-load.ts` sends them to a running `npm start`.
 */
import fc from 'fast-check';
import { RESERVED_ENV_PATTERNS } from '../../src/core/env-policy.js';

export const uuid = fc.uuid({ version: 4 });
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
export const rawBody = fc.oneof(
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
export const cursor = fc.oneof(
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

export const query = fc
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

/** Headers; `authorization` is the right Authorization value, which most requests carry. */
export const headerSet = (authorization: string) =>
  fc.record({
    authorization: fc.oneof(
      { weight: 12, arbitrary: fc.constant(authorization) },
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

export const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
/** Paths inside a chat as a caller might try them: traversal, encodings, links' names, junk. */
export const chatFilePath = fc.oneof(
  fc.constantFrom(
    '../x',
    '..',
    '.',
    'a/../../x',
    '/etc/passwd',
    'a\\b',
    'a//b',
    'a/',
    '%2e%2e/x',
    '..%2fx',
    'history.md',
    'HISTORY.MD',
    '.sandbox-tmp-1',
    'a\u0000b',
    'x'.repeat(300),
    Array.from({ length: 20 }, () => 'd').join('/'),
    'ok.txt',
    'dir/ok.txt',
  ),
  fc
    .array(fc.oneof(fc.constantFrom('..', '.', '', 'a', 'ü', ' ', '\\'), fc.string({ maxLength: 8 })), {
      maxLength: 6,
    })
    .map((segments) => segments.join('/')),
);

export const path = fc.oneof(
  chatIdText.map((id) => `/v1/chats/${id}/sandbox`),
  chatIdText.map((id) => `/v1/chats/${id}/sandbox/keepalive`),
  chatIdText.map((id) => `/v1/chats/${id}/files`),
  chatIdText.map((id) => `/v1/chats/${id}/history`),
  fc
    .tuple(chatIdText, chatFilePath)
    .map(([id, file]) => `/v1/chats/${id}/file?path=${encodeURIComponent(file)}`),
  fc.constantFrom('/v1/sandboxes', '/v1/health', '/v1/openapi.json', '/v1/', '/', '/v1/chats//sandbox'),
  fc.string({ maxLength: 30 }).map((text) => `/v1/${encodeURIComponent(text)}`),
);

/** Header values the Fetch API itself refuses are not sent (a client could not send them either). */
export function headersOf(set: {
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
