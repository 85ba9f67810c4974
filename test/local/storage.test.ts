/**
 * Chat storage through a real local control plane: files and history.md with or without a sandbox,
 * visible inside it at CHAT_DIR and after it stopped; ranges, preconditions, the owner's byte quota,
 * refused paths and links, and tenant isolation.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import type { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import { DynamoStorageUsageStore } from '../../src/adapters/dynamodb/storage-usage-store.js';
import { PosixChatFiles } from '../../src/adapters/fs/chat-tree.js';
import { localChatDir } from '../../src/adapters/local/local-runtime.js';
import { finishPurges, localPurgeFinish, PURGE_SETTLE_MS } from '../../src/core/chat-purge.js';
import type { StorageDeps } from '../../src/core/chat-storage.js';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { silentLogger } from '../support/fakes.js';

type Json = ReturnType<typeof JSON.parse>;

const json = (response: Response): Promise<Json> => response.json() as Promise<Json>;

const TOKEN = 'storage-token-1';
const OTHER = 'storage-token-b';
const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-storage-'));
const outside = mkdtempSync(join(tmpdir(), 'sandbox-outside-'));
let plane: LocalControlPlane;

beforeAll(async () => {
  plane = await startLocalControlPlane(
    parseLocalConfig({
      PORT: '0',
      SANDBOX_DATA_DIR: dataDir,
      SANDBOX_API_TOKEN: TOKEN,
      SANDBOX_TABLE_NAME: `storage-${randomUUID()}`,
      DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      SANDBOX_MAX_FILE_BYTES: '1000',
      SANDBOX_OWNER_STORAGE_BYTES: '2500',
      SANDBOX_API_TOKENS: JSON.stringify({ [createHash('sha256').update(OTHER).digest('hex')]: 'tenant-b' }),
    }),
    silentLogger,
  );
});

afterAll(async () => {
  await plane?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  init: { body?: string | Buffer; headers?: Record<string, string>; token?: string } = {},
): Promise<Response> {
  return fetch(`${plane.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${init.token ?? TOKEN}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

const file = (chatId: string, path: string, query = '') =>
  `/v1/chats/${chatId}/file?path=${encodeURIComponent(path)}${query}`;

describe('chat storage (local mode)', () => {
  it('seeds a chat before its first sandbox, reads the agent-written file after it stopped', async () => {
    const chatId = randomUUID();
    const put = await call('PUT', file(chatId, 'attachments/brief.txt', '&ownerId=alice'), {
      body: 'seeded',
    });
    expect(put.status).toBe(201);
    expect((await json(put)).file).toMatchObject({ path: 'attachments/brief.txt', size: 6 });
    expect((await call('PUT', file(chatId, 'brief.txt'), { body: 'top level' })).status).toBe(201);

    const created = await call('PUT', `/v1/chats/${chatId}/sandbox`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ agentId: 'a1', ownerId: 'alice', waitSeconds: 20 }),
    });
    const { endpoint } = (await json(created)).sandbox;
    const agent = `http://${endpoint.host}:${endpoint.port}`;
    // The example agent reads CHAT_DIR/<name>: the upload is there, inside the sandbox.
    const seeded = await fetch(`${agent}/files/brief.txt`);
    expect(seeded.status).toBe(200);
    expect(await seeded.text()).toBe('top level');
    await fetch(`${agent}/history`, { method: 'POST', body: 'the agent was here' });
    await fetch(`${agent}/files/result.txt`, { method: 'PUT', body: 'from the agent' });
    await call('DELETE', `/v1/chats/${chatId}/sandbox`);
    await expect
      .poll(async () => (await json(await call('GET', `/v1/chats/${chatId}/sandbox`))).sandbox.status)
      .toBe('stopped');

    expect(await (await call('GET', file(chatId, 'result.txt'))).text()).toBe('from the agent');
    const history = await call('GET', `/v1/chats/${chatId}/history`);
    expect(history.headers.get('content-type')).toContain('text/markdown');
    expect(await history.text()).toContain('the agent was here');
    const listed = await json(await call('GET', `/v1/chats/${chatId}/files`));
    expect(listed.items.map((item: { path: string }) => item.path)).toEqual(
      expect.arrayContaining(['attachments/brief.txt', 'result.txt']),
    );
    expect(listed.items.find((item: { path: string }) => item.path === 'result.txt').contentType).toContain(
      'text/plain',
    );
  });

  it('reads ranges, keeps ETags, honours If-None-Match and If-Match, deletes idempotently', async () => {
    const chatId = randomUUID();
    const first = await json(await call('PUT', file(chatId, 'a.bin'), { body: '0123456789' }));
    const range = await call('GET', file(chatId, 'a.bin'), { headers: { Range: 'bytes=2-4' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await range.text()).toBe('234');
    expect(await (await call('GET', file(chatId, 'a.bin'), { headers: { Range: 'bytes=-3' } })).text()).toBe(
      '789',
    );
    const outside = await call('GET', file(chatId, 'a.bin'), { headers: { Range: 'bytes=20-' } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe('bytes */10');
    const whole = await call('GET', file(chatId, 'a.bin'));
    expect(whole.headers.get('etag')).toBe(first.file.etag);
    expect(whole.headers.get('content-length')).toBe('10');

    const exclusive = await call('PUT', file(chatId, 'a.bin'), {
      body: 'x',
      headers: { 'If-None-Match': '*' },
    });
    expect(exclusive.status).toBe(412);
    const stale = await call('PUT', file(chatId, 'a.bin'), { body: 'x', headers: { 'If-Match': '"nope"' } });
    expect(stale.status).toBe(412);
    const replaced = await call('PUT', file(chatId, 'a.bin'), {
      body: 'new',
      headers: { 'If-Match': first.file.etag },
    });
    expect(replaced.status).toBe(200);
    expect((await json(replaced)).file.etag).not.toBe(first.file.etag);

    expect((await json(await call('DELETE', file(chatId, 'a.bin')))).result).toBe('deleted');
    expect((await json(await call('DELETE', file(chatId, 'a.bin')))).result).toBe('not_found');
    expect((await call('GET', file(chatId, 'a.bin'))).status).toBe(404);
  });

  it('refuses a file over the size limit and a write over the owner quota, writing nothing', async () => {
    const chatId = randomUUID();
    const big = await call('PUT', file(chatId, 'big', '&ownerId=quota-owner'), { body: 'x'.repeat(1001) });
    expect(big.status).toBe(413);
    expect((await json(big)).code).toBe('payload_too_large');
    // 2500 bytes for the owner: two 1000-byte files fit, a third does not, in this or another chat.
    expect(
      (await call('PUT', file(chatId, 'one', '&ownerId=quota-owner'), { body: 'x'.repeat(1000) })).status,
    ).toBe(201);
    expect((await call('PUT', file(chatId, 'two'), { body: 'x'.repeat(1000) })).status).toBe(201);
    const other = randomUUID();
    const over = await call('PUT', file(other, 'three', '&ownerId=quota-owner'), { body: 'x'.repeat(1000) });
    expect(over.status).toBe(413);
    expect((await json(over)).code).toBe('workspace_quota_exceeded');
    expect((await call('GET', file(other, 'three'))).status).toBe(404);
    // Replacing a file counts its new size, not both.
    expect((await call('PUT', file(chatId, 'two'), { body: 'x'.repeat(900) })).status).toBe(200);
    // The usage route shows the owner's bytes as measured.
    const usage = await json(await call('GET', '/v1/usage?ownerId=quota-owner'));
    expect(usage.storage).toEqual({ scope: 'owner', usedBytes: 1900, limitBytes: 2500, chats: 1 });
  });

  it('counts a claimed chat only for its owner, and lets no two concurrent writes both pass the quota', async () => {
    // 1000 bytes in an unowned chat, then the chat is claimed: the unowned budget (2500) is free again.
    const claimed = randomUUID();
    expect((await call('PUT', file(claimed, 'a'), { body: 'x'.repeat(1000) })).status).toBe(201);
    expect((await call('PUT', file(claimed, 'b', '&ownerId=claimer'), { body: 'y' })).status).toBe(201);
    const unowned = randomUUID();
    expect((await call('PUT', file(unowned, 'a'), { body: 'x'.repeat(1000) })).status).toBe(201);
    expect((await call('PUT', file(unowned, 'b'), { body: 'x'.repeat(1000) })).status).toBe(201);

    // Six 1000-byte writes at once for one owner with 2500 bytes: two fit, the others are refused.
    const racer = randomUUID();
    const statuses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call('PUT', file(racer, `f${i}`, '&ownerId=racer'), { body: 'x'.repeat(1000) }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(2);
    expect(statuses.filter((status) => status === 413)).toHaveLength(4);
  });

  it('reads a file larger than one answer only in ranges, each at most the file size limit', async () => {
    const chatId = randomUUID();
    await call('PUT', file(chatId, 'seed'), { body: 'x' });
    // An agent may write any size into its directory.
    writeFileSync(join(dataDir, 'chats', 'local', chatId, 'huge.bin'), Buffer.alloc(5000, 7));
    const whole = await call('GET', file(chatId, 'huge.bin'));
    expect(whole.status).toBe(413);
    expect((await json(whole)).detail).toContain('Range');
    const part = await call('GET', file(chatId, 'huge.bin'), { headers: { Range: 'bytes=0-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 0-999/5000');
    expect((await part.arrayBuffer()).byteLength).toBe(1000);
  });

  it('refuses hostile paths with 422 and never follows a link planted in the chat directory', async () => {
    const chatId = randomUUID();
    await call('PUT', file(chatId, 'ok.txt'), { body: 'ok' });
    for (const path of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a\\b',
      'a//b',
      'a/',
      '.',
      'history.md',
      'HISTORY.md',
      'hi\u017ftory.md',
      'a\u0000b',
    ]) {
      const response = await call('PUT', file(chatId, path), { body: 'x' });
      expect(`${path}: ${response.status}`).toBe(`${path}: 422`);
    }
    writeFileSync(join(outside, 'secret'), 'outside');
    const root = join(dataDir, 'chats', 'local', chatId);
    symlinkSync(join(outside, 'secret'), join(root, 'leak'));
    symlinkSync(outside, join(root, 'dir'));
    expect((await call('GET', file(chatId, 'leak'))).status).toBe(422);
    expect((await call('GET', file(chatId, 'dir/secret'))).status).toBe(422);
    expect((await call('PUT', file(chatId, 'dir/new'), { body: 'x' })).status).toBe(422);
    expect((await call('PUT', file(chatId, 'leak'), { body: 'x' })).status).toBe(422);
    const listed = await json(await call('GET', `/v1/chats/${chatId}/files`));
    expect(listed.items.map((item: { path: string }) => item.path)).toEqual(['history.md', 'ok.txt']);
    mkdirSync(join(outside, 'untouched'), { recursive: true });
    expect((await call('DELETE', file(chatId, 'dir/secret'))).status).toBe(422);
  });

  it("answers 404 for a chat that does not exist, and never shows one tenant another's files", async () => {
    expect((await call('GET', `/v1/chats/${randomUUID()}/files`)).status).toBe(404);
    expect((await call('GET', `/v1/chats/${randomUUID()}/history`)).status).toBe(404);
    const chatId = randomUUID();
    await call('PUT', file(chatId, 'mine.txt'), { body: 'tenant local' });
    expect((await call('GET', file(chatId, 'mine.txt'), { token: OTHER })).status).toBe(404);
    expect((await call('GET', `/v1/chats/${chatId}/files`, { token: OTHER })).status).toBe(404);
    await call('PUT', file(chatId, 'mine.txt'), { body: 'tenant b', token: OTHER });
    expect(await (await call('GET', file(chatId, 'mine.txt'))).text()).toBe('tenant local');
  });

  it('purges a chat: refused while live, then no new sandbox or write, then nothing left', async () => {
    const chatId = randomUUID();
    await call('PUT', file(chatId, 'keep.txt', '&ownerId=purger'), { body: 'data' });
    await call('PUT', `/v1/chats/${chatId}/sandbox`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ agentId: 'a1', ownerId: 'purger', waitSeconds: 20 }),
    });
    const refused = await call('DELETE', `/v1/chats/${chatId}`);
    expect(refused.status).toBe(409);
    expect((await json(refused)).code).toBe('chat_has_active_sandbox');
    await call('DELETE', `/v1/chats/${chatId}/sandbox`);
    await expect
      .poll(async () => (await json(await call('GET', `/v1/chats/${chatId}/sandbox`))).sandbox.status)
      .toBe('stopped');

    const purging = await call('DELETE', `/v1/chats/${chatId}`);
    expect(purging.status).toBe(202);
    expect((await json(purging)).result).toBe('purging');
    // While it runs, the chat takes no sandbox and no write.
    const create = await call('PUT', `/v1/chats/${chatId}/sandbox`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ agentId: 'a1' }),
    });
    expect((await json(create)).code).toBe('chat_purging');
    expect((await json(await call('PUT', file(chatId, 'late.txt'), { body: 'x' }))).code).toBe(
      'chat_purging',
    );
    expect((await json(await call('DELETE', file(chatId, 'keep.txt')))).code).toBe('chat_purging');
    expect((await call('DELETE', `/v1/chats/${chatId}`)).status).toBe(202);

    // A pass after the settle time removes everything (a clock ahead stands in for the wait).
    const { store, quotas } = plane.deps;
    const client = (store as DynamoSessionStore).client;
    const table = (store as DynamoSessionStore).tableName;
    const later: StorageDeps = {
      core: {
        ...plane.deps,
        clock: { now: () => Date.now() + PURGE_SETTLE_MS + 1_000, sleep: async () => {} },
      },
      files: new PosixChatFiles({ rootOf: (key) => localChatDir(dataDir, key) }),
      usage: new DynamoStorageUsageStore(client, table),
      purges: new DynamoChatPurges(client, table),
      config: { maxFileBytes: 1000, ownerMaxBytes: 2500 },
    };
    expect((await finishPurges(localPurgeFinish(later))).purged).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(dataDir, 'chats', 'local', chatId))).toBe(false);
    expect(await store.get({ tenant: 'local', chatId })).toBeNull();
    expect(await quotas.getChat({ tenant: 'local', chatId })).toBeNull();
    expect((await call('GET', `/v1/chats/${chatId}/files`)).status).toBe(404);
    expect((await json(await call('GET', '/v1/usage?ownerId=purger'))).storage).toMatchObject({
      usedBytes: 0,
      chats: 0,
    });
    // The chat id is free again, for a new chat.
    expect((await call('PUT', file(chatId, 'fresh.txt'), { body: 'new' })).status).toBe(201);
    expect((await json(await call('DELETE', `/v1/chats/${randomUUID()}`))).result).toBe('not_found');
  });

  it('replaces and appends to history.md', async () => {
    const chatId = randomUUID();
    expect((await call('PUT', `/v1/chats/${chatId}/history`, { body: '# Chat\n' })).status).toBe(201);
    await call('POST', `/v1/chats/${chatId}/history`, { body: 'more\n' });
    expect(await (await call('GET', `/v1/chats/${chatId}/history`)).text()).toBe('# Chat\nmore\n');
  });
});
