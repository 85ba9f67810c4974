/**
 * Hostile input, generated: thousands of requests with broken, oversized, forged or tricky bodies,
 * env, metadata, cursors, ids, headers and content types, sent through `app.request`. Whatever is
 * sent, the answer is never a 5xx, every 4xx is problem+json with a catalogued code, and a refused
 * request starts no sandbox and writes no session.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { localHostGuard } from '../../src/local/host-guard.js';
import {
  chatFilePath,
  cursor,
  headerSet,
  headersOf,
  method,
  path,
  query,
  rawBody,
  uuid,
} from '../support/hostile-requests.js';
import { AUTH, httpHarness } from './harness.js';

type Harness = Awaited<ReturnType<typeof httpHarness>>;

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
  let storageDir: string;
  beforeAll(async () => {
    storageDir = mkdtempSync(join(tmpdir(), 'hostile-storage-'));
    mkdirSync(join(storageDir, 'outside'));
    writeFileSync(join(storageDir, 'outside', 'sentinel'), 'outside');
    h = await httpHarness({ acceptsHost: localHostGuard('127.0.0.1'), storageDir });
  });

  it('never answers get-or-create bodies with a 5xx, and a refused one starts and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(uuid, rawBody, headerSet(AUTH.Authorization), async (chatId, body, set) => {
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
        headerSet(AUTH.Authorization),
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

  it('never lets a hostile file path out of the chat directory, nor answers it with a 5xx', async () => {
    const chatId = '77777777-7777-4777-8777-777777777777';
    await fc.assert(
      fc.asyncProperty(chatFilePath, fc.constantFrom('PUT', 'GET', 'DELETE'), async (file, m) => {
        const headers = new Headers({ ...AUTH, Host: 'localhost' });
        const status = await check(h, {
          method: m,
          url: `/v1/chats/${chatId}/file?path=${encodeURIComponent(file)}`,
          headers,
          ...(m === 'PUT' ? { body: 'hostile' } : {}),
        });
        expect(status).toBeLessThan(500);
      }),
      { numRuns: 1_000 },
    );
    // Only chat directories were made, and the file outside them is as it was.
    expect(readdirSync(storageDir).sort()).toEqual(['chats', 'outside']);
    expect(readdirSync(join(storageDir, 'outside'))).toEqual(['sentinel']);
    expect(readFileSync(join(storageDir, 'outside', 'sentinel'), 'utf8')).toBe('outside');
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
