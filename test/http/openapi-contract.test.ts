/**
 * The OpenAPI document is the contract: the committed docs/openapi.json is what the code generates,
 * a strict OpenAPI 3.1 validator and Redocly's recommended lint find no error in it or in a served
 * document, and a validating proxy watching a whole lifecycle (every error included) finds no
 * answer off the document and no request the document and the server judge differently.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalSandboxLogs } from '../../src/adapters/local/local-logs.js';
import { ALLOWED_ENV_NAME_SOURCE, envNameViolation } from '../../src/core/env-policy.js';
import { LaunchError } from '../../src/core/errors.js';
import { SHARED_ROUTES } from '../../src/http/routes/catalogue.js';
import { STORAGE_ROUTES } from '../../src/http/routes/storage-routes.js';
import { contractText, DOCUMENT_FILE } from '../../src/ops/openapi-document.js';
import { addFormats, type Exchange, OpenApiProxy, rewriteRefs } from '../support/openapi-proxy.js';
import { AUTH, httpHarness, type Json, json } from './harness.js';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'openapi-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Harness = Awaited<ReturnType<typeof httpHarness>>;

async function servedDocument(h: Harness): Promise<Json> {
  return json(await h.call('GET', '/v1/openapi.json'));
}

/**
 * The document against the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), and every
 * schema in it compiled by ajv in strict mode (JSON Schema 2020-12: no unknown keyword, no
 * ignored one).
 */
async function strictlyValid(document: Json): Promise<{ valid: boolean; errors?: unknown }> {
  const result = await new Validator().validate(document);
  if (!result.valid) return result;
  const ajv = new Ajv2020({ strict: true, strictTypes: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', $defs: rewriteRefs((document.components as Json).schemas) as Json });
  for (const schema of schemasIn(document.paths)) ajv.compile(rewriteRefs(schema) as Json);
  return { valid: true };
}

/** The `schema` members under `node` (parameters, bodies, answers, headers). */
function schemasIn(node: unknown): Json[] {
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'schema' && typeof value === 'object' ? [value as Json] : schemasIn(value),
  );
}

/** Redocly's recommended rules: the number of errors, and the report. */
async function lint(document: Json): Promise<{ errors: number; report: string }> {
  const file = join(scratch, `doc-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(document));
  const result = await run(
    process.execPath,
    [join('node_modules', '@redocly', 'cli', 'bin', 'cli.js'), 'lint', file, '--format=json'],
    { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
  ).catch((error: { stdout: string; stderr: string }) => error);
  const report = JSON.parse(result.stdout) as { totals: { errors: number } };
  return { errors: report.totals.errors, report: result.stdout };
}

describe('the committed contract', () => {
  it('is what the code generates (npm run openapi rewrites it)', () => {
    expect(readFileSync(DOCUMENT_FILE, 'utf8')).toBe(contractText());
  });

  it('passes the strict 3.1 validator and the recommended lint with no error', async () => {
    const committed = JSON.parse(readFileSync(DOCUMENT_FILE, 'utf8')) as Json;
    expect(await strictlyValid(committed)).toEqual({ valid: true });
    const linted = await lint(committed);
    expect(linted.errors, linted.report).toBe(0);
  });

  it('lists every route a served document has, with the same operations', async () => {
    const h = await httpHarness();
    const served = await servedDocument(h);
    const operations = (document: Json) =>
      Object.values(document.paths as Record<string, Record<string, { operationId: string }>>)
        .flatMap((methods) => Object.values(methods).map((operation) => operation.operationId))
        .sort();
    expect(operations(served)).toEqual(SHARED_ROUTES.map((route) => route.operationId).sort());
    const committed = JSON.parse(readFileSync(DOCUMENT_FILE, 'utf8')) as Json;
    // The committed one adds the logs route (a host with a logs backend) and local mode's events.
    expect(operations(committed)).toEqual(
      [
        ...operations(served),
        'getSandboxLogs',
        ...STORAGE_ROUTES.map((route) => route.operationId),
        'streamEvents',
      ].sort(),
    );
  });

  it('states the env name rule as one pattern that agrees with the server', () => {
    const pattern = new RegExp(ALLOWED_ENV_NAME_SOURCE);
    const names = fc.oneof(
      fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/),
      fc.constantFrom(
        'PATH',
        'LD_PRELOAD',
        'NODE_OPTIONS',
        'PYTHONPATH',
        'SANDBOX_X',
        'AWS_REGION',
        'ENV',
        'ENVX',
      ),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(names, (name) => {
        expect(pattern.test(name), name).toBe(envNameViolation(name) === null);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('a served document', () => {
  it('carries the configured bounds and passes the validator and the lint', async () => {
    const h = await httpHarness({
      config: { profiles: ['default', 'large'], minIdleTimeoutSeconds: 120, defaultIdleTimeoutSeconds: 600 },
    });
    const served = await servedDocument(h);
    const request = (served.components.schemas.GetOrCreateRequest as Json).properties;
    expect(request.profile).toMatchObject({ enum: ['default', 'large'], default: 'default' });
    expect(request.idleTimeoutSeconds).toMatchObject({ minimum: 120, default: 600 });
    expect(served.servers[0]).toEqual({ url: 'http://localhost', description: 'This server' });
    expect(await strictlyValid(served)).toEqual({ valid: true });
    const linted = await lint(served);
    expect(linted.errors, linted.report).toBe(0);
  });
});

const CHAT = (n: number) => `44444444-4444-4444-8444-${String(n).padStart(12, '0')}`;

describe('a validating proxy over a whole lifecycle', () => {
  it('finds no answer off the document, and no request judged differently', async () => {
    const dataDir = mkdtempSync(join(scratch, 'data-'));
    const logs = new LocalSandboxLogs(dataDir);
    const h = await httpHarness({
      config: {
        profiles: ['default', 'large'],
        envAllowLists: { large: ['APP_*'] },
        quotas: { tenantMaxLive: 10, ownerMaxLive: 2, repairGraceSeconds: 60 },
      },
      logs,
      storageDir: dataDir,
      storageLimits: { maxFileBytes: 100, ownerMaxBytes: 150 },
    });
    const proxy = new OpenApiProxy(await servedDocument(h));
    const send = async (
      method: string,
      url: string,
      init: { body?: unknown; headers?: Record<string, string>; gap?: string; auth?: boolean } = {},
    ): Promise<Response> => {
      const headers: Record<string, string> = { ...(init.auth === false ? {} : AUTH), ...init.headers };
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['Content-Type'] ??= 'application/json';
      }
      const response = await h.app.request(url, { method, headers, ...(body === undefined ? {} : { body }) });
      const exchange: Exchange = {
        method,
        url,
        headers,
        response,
        ...(body === undefined ? {} : { body }),
        ...(init.gap ? { gap: init.gap } : {}),
      };
      await proxy.check(exchange);
      return response;
    };
    const sandbox = (n: number) => `/v1/chats/${CHAT(n)}/sandbox`;
    const expectStatus = async (response: Promise<Response>, status: number) => {
      const answer = await response;
      expect(answer.status, await answer.clone().text()).toBe(status);
      return answer;
    };

    // Health, the document, the old service's health.
    await expectStatus(send('GET', '/v1/health', { auth: false }), 200);
    await expectStatus(send('GET', '/v1/health?deep=true', { auth: false }), 200);
    await expectStatus(send('GET', '/v1/health?deep=maybe', { auth: false }), 422);
    await expectStatus(send('HEAD', '/v1/health', { auth: false }), 200);
    await expectStatus(send('GET', '/v1/openapi.json'), 200);
    await expectStatus(send('GET', '/v1/openapi.json', { auth: false }), 401);
    await expectStatus(send('GET', '/api/v1/health', { auth: false }), 200);

    // Create, reuse, conflicts.
    const created = await expectStatus(
      send('PUT', sandbox(1), {
        body: { agentId: 'a1', ownerId: 'alice', env: { LOG_LEVEL: 'debug' }, metadata: { team: 'x' } },
      }),
      201,
    );
    expect(created.headers.get('location')).toBe(sandbox(1));
    await expectStatus(send('PUT', sandbox(1), { body: { agentId: 'a1', ownerId: 'alice' } }), 200);
    await expectStatus(send('PUT', sandbox(1), { body: { agentId: 'a2' } }), 409);
    await expectStatus(send('PUT', sandbox(1), { body: { agentId: 'a1', ownerId: 'bob' } }), 409);
    await expectStatus(send('PUT', sandbox(1), { auth: false, body: { agentId: 'a1' } }), 401);

    // Every way a create's request can be wrong.
    await expectStatus(send('PUT', sandbox(2), { body: '{"agentId":' }), 400);
    await expectStatus(
      send('PUT', sandbox(2), { body: 'x', headers: { 'Content-Type': 'text/plain' } }),
      415,
    );
    await expectStatus(
      send('PUT', sandbox(2), {
        body: { agentId: 'a1' },
        headers: { 'Content-Type': 'application/merge-patch+json' },
      }),
      415,
    );
    await expectStatus(
      send('PUT', sandbox(2), {
        body: `{"agentId":"a1"${' '.repeat(70_000)}}`,
        gap: 'the whole body is at most 64 KiB',
      }),
      413,
    );
    for (const body of [
      {},
      { agentId: 'bad id!' },
      { agentId: 'a1', env: { NODE_OPTIONS: '--require=x' } },
      { agentId: 'a1', env: { lower: 'x' } },
      { agentId: 'a1', env: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`V${i}`, 'x'])) },
      { agentId: 'a1', metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'x'])) },
      { agentId: 'a1', metadata: { ['k'.repeat(65)]: 'x' } },
      { agentId: 'a1', waitSeconds: null },
      { agentId: 'a1', waitSeconds: 26 },
      { agentId: 'a1', idleTimeoutSeconds: 30 },
      { agentId: 'a1', profile: 'nope' },
      { agentId: 'a1', surprise: true },
      { agentId: 'a1', ownerId: 'no spaces' },
    ]) {
      await expectStatus(send('PUT', sandbox(2), { body }), 422);
    }
    await expectStatus(
      send('PUT', sandbox(2), {
        body: { agentId: 'a1', idleTimeoutSeconds: 3600, maxLifetimeSeconds: 600 },
        gap: 'maxLifetimeSeconds must be at least idleTimeoutSeconds',
      }),
      422,
    );
    await expectStatus(
      send('PUT', sandbox(2), {
        body: {
          agentId: 'a1',
          env: Object.fromEntries(Array.from({ length: 2 }, (_, i) => [`V${i}`, 'x'.repeat(4000)])),
        },
        gap: 'env names and values together at most 6144 characters',
      }),
      422,
    );
    await expectStatus(send('PUT', '/v1/chats/not-a-chat/sandbox', { body: { agentId: 'a1' } }), 422);
    // A strict profile's allow-list is in the served document too.
    await expectStatus(
      send('PUT', sandbox(2), { body: { agentId: 'a1', profile: 'large', env: { OTHER: 'x' } } }),
      422,
    );
    await expectStatus(
      send('PUT', sandbox(9), { body: { agentId: 'a1', profile: 'large', env: { APP_MODE: 'x' } } }),
      201,
    );

    // Read, long-poll, keepalive.
    await expectStatus(send('GET', sandbox(1)), 200);
    await expectStatus(send('GET', `${sandbox(1)}?waitSeconds=1`), 200);
    await expectStatus(send('GET', `${sandbox(1)}?waitSeconds=null`), 422);
    await expectStatus(send('GET', sandbox(99)), 404);
    await expectStatus(send('POST', `${sandbox(1)}/keepalive`, { body: {} }), 200);
    await expectStatus(send('POST', `${sandbox(1)}/keepalive`), 200);
    await expectStatus(send('POST', `${sandbox(1)}/keepalive`, { body: { idleTimeoutSeconds: 120 } }), 200);
    await expectStatus(send('POST', `${sandbox(1)}/keepalive`, { body: { idleTimeoutSeconds: 10 } }), 422);
    await expectStatus(send('POST', `${sandbox(1)}/keepalive`, { body: '[' }), 400);
    await expectStatus(
      send('POST', `${sandbox(1)}/keepalive`, { body: '{}', headers: { 'Content-Type': 'text/plain' } }),
      415,
    );
    await expectStatus(
      send('POST', `${sandbox(1)}/keepalive`, {
        body: `{"idleTimeoutSeconds":120${' '.repeat(70_000)}}`,
        gap: 'the whole body is at most 64 KiB',
      }),
      413,
    );
    await expectStatus(send('POST', `${sandbox(99)}/keepalive`), 404);

    // Logs: a tail, a follow with the cursor, and every refusal.
    const { sessionId } = (await json(created.clone())).sandbox;
    mkdirSync(join(dataDir, 'logs'));
    writeFileSync(join(dataDir, 'logs', `${sessionId}.log`), 'one\ntwo\n');
    const tail = await json(await expectStatus(send('GET', `${sandbox(1)}/logs?tail=10`), 200));
    expect(tail.lines.map((line: { message: string }) => line.message)).toEqual(['one', 'two']);
    await expectStatus(send('GET', `${sandbox(1)}/logs?cursor=${encodeURIComponent(tail.nextCursor)}`), 200);
    await expectStatus(send('GET', `${sandbox(1)}/logs?since=2026-11-22T00:00:00Z`), 200);
    await expectStatus(send('GET', `${sandbox(99)}/logs`), 404);
    await expectStatus(send('GET', `${sandbox(1)}/logs?tail=0`), 422);
    await expectStatus(send('GET', `${sandbox(1)}/logs?since=yesterday`), 422);
    await expectStatus(
      send('GET', `${sandbox(1)}/logs?cursor=forged`, { gap: 'a cursor must be one the server wrote' }),
      422,
    );

    // Limits: alice may have two live sandboxes.
    await expectStatus(send('PUT', sandbox(3), { body: { agentId: 'a1', ownerId: 'alice' } }), 201);
    const refused = await expectStatus(
      send('PUT', sandbox(4), { body: { agentId: 'a1', ownerId: 'alice' } }),
      429,
    );
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // A launch that fails for good.
    h.deps.runtime.failNext = { error: new LaunchError('no such image', false), times: 1 };
    await expectStatus(send('PUT', sandbox(5), { body: { agentId: 'a1' } }), 503);

    // A log file that is not a plain file (a symlink an agent planted) is not read: 503.
    const failedSession = (await json(await send('GET', sandbox(5)))).sandbox.sessionId;
    symlinkSync('/etc/passwd', join(dataDir, 'logs', `${failedSession}.log`));
    const refusedLog = await expectStatus(send('GET', `${sandbox(5)}/logs`), 503);
    expect(refusedLog.headers.get('retry-after')).not.toBeNull();

    // Lists and usage.
    await expectStatus(send('GET', '/v1/sandboxes'), 200);
    await expectStatus(send('GET', '/v1/sandboxes?status=running,%20provisioning&ownerId=alice'), 200);
    const page = await json(await expectStatus(send('GET', '/v1/sandboxes?limit=1'), 200));
    await expectStatus(
      send('GET', `/v1/sandboxes?limit=1&cursor=${encodeURIComponent(page.nextCursor)}`),
      200,
    );
    await expectStatus(send('GET', '/v1/sandboxes?status=bogus'), 422);
    await expectStatus(send('GET', '/v1/sandboxes?limit=0'), 422);
    await expectStatus(
      send('GET', '/v1/sandboxes?cursor=forged', { gap: 'a cursor must be one the server wrote' }),
      422,
    );
    await expectStatus(send('GET', '/v1/usage'), 200);
    await expectStatus(send('GET', '/v1/usage?ownerId=alice&from=2026-11-01&to=2026-11-30'), 200);
    await expectStatus(send('GET', '/v1/usage?from=2026-13-01'), 422);

    // The old service's create and delete.
    const old = await expectStatus(send('POST', '/api/v1/create', { body: { chat_id: CHAT(6) } }), 200);
    expect(await json(old)).toMatchObject({ chat_id: CHAT(6), agent_id: 'default', status: 'provisioning' });
    await expectStatus(
      send('POST', '/api/v1/create', { body: { chat_id: CHAT(6), volume_host_path: '/srv/chats/x' } }),
      422,
    );
    await expectStatus(send('POST', '/api/v1/create', { body: { chat_id: 'nope' } }), 422);
    await expectStatus(send('POST', '/api/v1/create', { body: '{' }), 400);
    await expectStatus(
      send('POST', '/api/v1/create', { body: 'x', headers: { 'Content-Type': 'text/plain' } }),
      415,
    );
    await expectStatus(send('POST', '/api/v1/create', { body: { chat_id: CHAT(1), agent_id: 'a2' } }), 409);
    await expectStatus(send('POST', '/api/v1/create', { auth: false, body: { chat_id: CHAT(6) } }), 401);
    await expectStatus(send('DELETE', `/api/v1/sandboxes/${CHAT(6)}`), 200);
    await expectStatus(send('DELETE', `/api/v1/sandboxes/${CHAT(6)}`), 200);
    await expectStatus(send('DELETE', '/api/v1/sandboxes/nope'), 422);

    // Delete, twice.
    await expectStatus(send('DELETE', sandbox(1)), 200);
    await expectStatus(send('DELETE', sandbox(1)), 200);
    await expectStatus(send('DELETE', '/v1/chats/nope/sandbox'), 422);

    // Routes and methods that do not exist.
    const patch = await expectStatus(send('PATCH', sandbox(1), { body: {} }), 405);
    expect(patch.headers.get('allow')).toBe('DELETE, GET, HEAD, PUT');
    await expectStatus(send('OPTIONS', '/v1/sandboxes'), 405);
    await expectStatus(send('GET', '/v1/nothing-here'), 404);

    // A request id sent is echoed; a malformed one is replaced.
    const echoed = await send('GET', '/v1/health', { auth: false, headers: { 'X-Request-Id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const replaced = await send('GET', '/v1/health', {
      auth: false,
      headers: { 'X-Request-Id': 'bad id\u00e9' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // Chat storage: every answer of every route.
    const fileUrl = (n: number, path: string, query = '') =>
      `/v1/chats/${CHAT(n)}/file?path=${encodeURIComponent(path)}${query}`;
    const raw = { 'Content-Type': 'application/octet-stream' };
    await expectStatus(send('GET', `/v1/chats/${CHAT(20)}/files`), 404);
    await expectStatus(send('GET', `/v1/chats/${CHAT(20)}/history`), 404);
    await expectStatus(send('GET', fileUrl(20, 'none')), 404);
    const stored = await expectStatus(
      send('PUT', fileUrl(20, 'docs/a.txt', '&ownerId=carol'), { body: '0123456789', headers: raw }),
      201,
    );
    const etag = (await json(stored.clone())).file.etag as string;
    await expectStatus(
      send('PUT', fileUrl(20, 'docs/a.txt'), { body: 'abc', headers: { ...raw, 'If-Match': etag } }),
      200,
    );
    await expectStatus(
      send('PUT', fileUrl(20, 'docs/a.txt'), { body: 'x', headers: { ...raw, 'If-None-Match': '*' } }),
      412,
    );
    await expectStatus(
      send('PUT', fileUrl(20, 'docs/b.txt', '&ownerId=dave'), { body: 'x', headers: raw }),
      409,
    );
    const sizeGap = 'a file is at most the configured size';
    await expectStatus(
      send('PUT', fileUrl(20, 'big'), { body: 'x'.repeat(101), headers: raw, gap: sizeGap }),
      413,
    );
    await expectStatus(send('PUT', fileUrl(20, 'c1'), { body: 'x'.repeat(100), headers: raw }), 201);
    await expectStatus(
      send('PUT', fileUrl(20, 'c2'), { body: 'x'.repeat(100), headers: raw, gap: "the owner's byte quota" }),
      413,
    );
    await expectStatus(send('PUT', fileUrl(20, '../escape'), { body: 'x', headers: raw }), 422);
    await expectStatus(send('GET', fileUrl(20, 'docs/a.txt')), 200);
    await expectStatus(send('GET', fileUrl(20, 'docs/a.txt'), { headers: { Range: 'bytes=1-' } }), 206);
    await expectStatus(send('GET', fileUrl(20, 'docs/a.txt'), { headers: { Range: 'bytes=50-' } }), 416);
    // A Range this server does not serve (another unit, several ranges) is ignored: the whole file.
    await expectStatus(send('GET', fileUrl(20, 'docs/a.txt'), { headers: { Range: 'lines=1' } }), 200);
    await expectStatus(send('GET', fileUrl(20, 'docs/a.txt'), { headers: { Range: 'bytes=0-1,3-4' } }), 200);
    await expectStatus(send('GET', fileUrl(20, '../a')), 422);
    // A file an agent wrote past the size limit is read in ranges only.
    await expectStatus(send('PUT', fileUrl(23, 'seed'), { body: 's', headers: raw }), 201);
    writeFileSync(join(dataDir, 'chats', 'local', CHAT(23), 'huge'), Buffer.alloc(300));
    await expectStatus(send('GET', fileUrl(23, 'huge'), { gap: 'the file is larger than one answer' }), 413);
    await expectStatus(send('GET', fileUrl(23, 'huge'), { headers: { Range: 'bytes=0-' } }), 206);
    await expectStatus(send('GET', `/v1/chats/${CHAT(20)}/files?limit=1`), 200);
    await expectStatus(
      send('GET', `/v1/chats/${CHAT(20)}/files?cursor=%21`, { gap: 'a cursor must be one the server wrote' }),
      422,
    );
    await expectStatus(send('GET', `/v1/chats/${CHAT(20)}/files?limit=0`), 422);
    await expectStatus(send('DELETE', fileUrl(20, 'c1')), 200);
    await expectStatus(send('DELETE', fileUrl(20, '/abs')), 422);
    await expectStatus(send('GET', `/v1/chats/${CHAT(20)}/history`), 200);
    await expectStatus(send('PUT', `/v1/chats/${CHAT(20)}/history`, { body: '# A\n', headers: raw }), 200);
    await expectStatus(send('POST', `/v1/chats/${CHAT(21)}/history`, { body: 'new', headers: raw }), 201);
    await expectStatus(
      send('POST', `/v1/chats/${CHAT(20)}/history`, { body: 'x'.repeat(500), headers: raw, gap: sizeGap }),
      413,
    );
    await expectStatus(
      send('POST', `/v1/chats/${CHAT(20)}/history?ownerId=dave`, { body: 'x', headers: raw }),
      409,
    );
    await expectStatus(send('POST', `/v1/chats/${CHAT(20)}/history`, { body: 'more', headers: raw }), 200);
    await expectStatus(send('PUT', `/v1/chats/${CHAT(22)}/history`, { body: 'new', headers: raw }), 201);
    await expectStatus(
      send('PUT', `/v1/chats/${CHAT(20)}/history`, { body: 'x'.repeat(500), headers: raw, gap: sizeGap }),
      413,
    );
    await expectStatus(
      send('PUT', `/v1/chats/${CHAT(20)}/history?ownerId=dave`, { body: 'x', headers: raw }),
      409,
    );
    await expectStatus(send('PUT', `/v1/chats/nope/history`, { body: 'x', headers: raw }), 422);
    // Purge: refused while live, under way for a chat with something, nothing for a chat without.
    await expectStatus(send('DELETE', `/v1/chats/${CHAT(1)}`), 409);
    await expectStatus(send('DELETE', `/v1/chats/${CHAT(21)}`), 202);
    // While it is purged, the chat takes no write and no sandbox.
    await expectStatus(send('DELETE', fileUrl(21, 'x')), 409);
    await expectStatus(send('PUT', fileUrl(21, 'x'), { body: 'x', headers: raw }), 409);
    await expectStatus(send('PUT', sandbox(21), { body: { agentId: 'a1' } }), 409);
    await expectStatus(send('DELETE', `/v1/chats/${CHAT(30)}`), 200);
    await expectStatus(send('DELETE', '/v1/chats/nope'), 422);
    await expectStatus(send('POST', `/v1/chats/nope/history`, { body: 'x', headers: raw }), 422);
    await expectStatus(send('GET', `/v1/chats/nope/history`), 422);
    // A history an agent grew past one answer's limit is read in ranges, as any file.
    const grown = `/v1/chats/${CHAT(23)}/history`;
    writeFileSync(join(dataDir, 'chats', 'local', CHAT(23), 'history.md'), 'h'.repeat(300));
    await expectStatus(send('GET', grown, { gap: 'the file is larger than one answer' }), 413);
    await expectStatus(send('GET', grown, { headers: { Range: 'bytes=0-9' } }), 206);
    await expectStatus(send('GET', grown, { headers: { Range: 'bytes=400-' } }), 416);

    // The old create's own limits and failures.
    await expectStatus(
      send('POST', '/api/v1/create', {
        body: `{"chat_id":"${CHAT(7)}"${' '.repeat(70_000)}}`,
        gap: 'the whole body is at most 64 KiB',
      }),
      413,
    );
    h.deps.runtime.failNext = { error: new LaunchError('no such image', false), times: 1 };
    await expectStatus(send('POST', '/api/v1/create', { body: { chat_id: CHAT(7) } }), 503);

    // One call of each operation: without credentials (401), from a foreign host name (421), and
    // over a store that fails (500, saying nothing internal).
    const calls: Record<string, { method: string; url: string; body?: unknown }> = {
      getHealth: { method: 'GET', url: '/v1/health?deep=true' },
      compatGetHealth: { method: 'GET', url: '/api/v1/health' },
      getOpenApiDocument: { method: 'GET', url: '/v1/openapi.json' },
      getOrCreateSandbox: { method: 'PUT', url: sandbox(8), body: { agentId: 'a1' } },
      getSandbox: { method: 'GET', url: sandbox(3) },
      keepaliveSandbox: { method: 'POST', url: `${sandbox(3)}/keepalive` },
      deleteSandbox: { method: 'DELETE', url: sandbox(3) },
      listSandboxes: { method: 'GET', url: '/v1/sandboxes' },
      getUsage: { method: 'GET', url: '/v1/usage' },
      compatCreateSandbox: { method: 'POST', url: '/api/v1/create', body: { chat_id: CHAT(8) } },
      compatDeleteSandbox: { method: 'DELETE', url: `/api/v1/sandboxes/${CHAT(3)}` },
      getSandboxLogs: { method: 'GET', url: `${sandbox(3)}/logs` },
      listChatFiles: { method: 'GET', url: `/v1/chats/${CHAT(20)}/files` },
      putChatFile: { method: 'PUT', url: fileUrl(20, 'z.txt'), body: 'z' },
      getChatFile: { method: 'GET', url: fileUrl(20, 'docs/a.txt') },
      deleteChatFile: { method: 'DELETE', url: fileUrl(20, 'docs/a.txt') },
      getChatHistory: { method: 'GET', url: `/v1/chats/${CHAT(20)}/history` },
      putChatHistory: { method: 'PUT', url: `/v1/chats/${CHAT(20)}/history`, body: 'h' },
      appendChatHistory: { method: 'POST', url: `/v1/chats/${CHAT(20)}/history`, body: 'h' },
      purgeChat: { method: 'DELETE', url: `/v1/chats/${CHAT(24)}` },
    };
    const operations = [...new Set(proxy.declared().map((pair) => pair.split(' ')[0]!))];
    expect(operations.filter((id) => !calls[id])).toEqual([]);
    const unauthenticated = new Set(['getHealth', 'compatGetHealth']);
    for (const [id, call] of Object.entries(calls)) {
      if (unauthenticated.has(id)) continue;
      await expectStatus(send(call.method, call.url, { auth: false, body: call.body }), 401);
    }
    const guarded = await httpHarness({
      acceptsHost: (host) => host === 'localhost',
      logs,
    });
    for (const call of Object.values(calls)) {
      const response = await guarded.app.request(call.url, {
        method: call.method,
        headers: { ...AUTH, Host: 'evil.example', 'Content-Type': 'application/json' },
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      });
      expect(response.status).toBe(421);
      await proxy.check({ method: call.method, url: call.url, headers: {}, response });
    }
    for (const port of [h.deps.store, h.deps.quotas]) {
      const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(port)).filter(
        (name) => name !== 'constructor',
      );
      for (const method of methods) {
        (port as unknown as Record<string, () => Promise<never>>)[method] = () =>
          Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:8000'));
      }
    }
    const failing = [
      'getOrCreateSandbox',
      'getSandbox',
      'keepaliveSandbox',
      'deleteSandbox',
      'listSandboxes',
      'getSandboxLogs',
      'listChatFiles',
      'putChatFile',
      'deleteChatFile',
      'putChatHistory',
      'appendChatHistory',
      'purgeChat',
    ];
    for (const id of [...failing, 'compatCreateSandbox', 'compatDeleteSandbox', 'getUsage']) {
      const call = calls[id]!;
      const failed = await send(call.method, call.url, { body: call.body });
      expect(`${id} ${failed.status}`).toBe(`${id} 500`);
      expect(await failed.clone().text()).not.toContain('ECONNREFUSED');
    }
    await expectStatus(send('GET', '/v1/health?deep=true', { auth: false }), 503);

    expect(proxy.violations).toEqual([]);
    // Every declared answer was seen but these: 500 where nothing can fail but a bug, a contended
    // keepalive (test/core/concurrency.test.ts), and the tenant limit on the old create (its
    // check is the new create's, test/http/owners-and-quotas.test.ts).
    const unseen = proxy.declared().filter((pair) => !proxy.seen.has(pair));
    // Reading a file or the history touches only the file system, which this test does not break.
    expect(unseen.sort()).toEqual([
      'compatCreateSandbox 429',
      'compatGetHealth 500',
      'getChatFile 500',
      'getChatHistory 500',
      'getHealth 500',
      'getOpenApiDocument 500',
      'keepaliveSandbox 503',
    ]);
  });
});
