/**
 * The storage function as Lambda runs it: environment set before the module is imported, the
 * session table on DynamoDB Local, and a temporary directory standing in for the file system's
 * `/chats` mount. Bodies travel as API Gateway sends them (base64 inside the event), so the 4 MiB
 * limit is checked against Lambda's 6 MB payload limit on real event sizes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chatRootPath } from '../../src/adapters/aws-naming.js';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import { AWS_MAX_FILE_BYTES } from '../../src/config/aws.js';
import { PURGE_SETTLE_MS } from '../../src/core/chat-purge.js';
import { ENV } from '../../src/names.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { sessionOf } from '../support/sessions.js';
import { type HttpRequest, httpApiEvent, lambdaContext } from './events.js';
import { coldStart, functionEnv } from './harness.js';

/** Lambda's limit on a synchronous invocation's request and its answer, each (6 MB). */
const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;

type StorageModule = typeof import('../../functions/storage.js');
let storage: StorageModule['handler'];
let table: TestTable;
let root: string;

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

async function invoke(event: unknown): Promise<unknown> {
  return storage(event as LambdaEvent, lambdaContext('sandbox-storage'));
}

async function call(request: HttpRequest): Promise<Answer> {
  return (await invoke(httpApiEvent({ userArn: ALICE, ...request }))) as Answer;
}

const bytesOf = (answer: Answer) =>
  answer.isBase64Encoded ? Buffer.from(answer.body, 'base64') : Buffer.from(answer.body);
const jsonOf = (answer: Answer) => JSON.parse(bytesOf(answer).toString('utf8')) as Record<string, unknown>;
/**
 * Where a chat's files are below the mount: the root of the access point its sandboxes mount
 * (`/chats/<tenant hash>/<chatId>`), so what this function writes is what a sandbox sees.
 */
const chatDir = (tenant: string, chatId: string) =>
  join(root, chatRootPath({ tenant, chatId }).replace(/^\/chats\//, ''));

function upload(chatId: string, path: string, bytes: Buffer, contentType = 'application/octet-stream') {
  return call({
    method: 'PUT',
    path: `/v1/chats/${chatId}/file`,
    query: `path=${encodeURIComponent(path)}`,
    rawBody: bytes,
    headers: { 'content-type': contentType },
  });
}

/**
 * Every DynamoDB command the function sends (the document client's and the low-level one's share
 * one `send`): its role grants GetItem and UpdateItem only, so nothing else may show up.
 */
const sent = new Set<string>();
const smithyClient = Object.getPrototypeOf(DynamoDBClient.prototype) as {
  send: (command: object, ...rest: unknown[]) => Promise<unknown>;
};
const GRANTED = new Set(['GetCommand', 'GetItemCommand', 'UpdateCommand', 'UpdateItemCommand']);
let recording = true;

/** Runs the test's own table calls (seeding, the reconciler's fence) unrecorded. */
async function own<T>(work: () => Promise<T>): Promise<T> {
  recording = false;
  try {
    return await work();
  } finally {
    recording = true;
  }
}

beforeAll(async () => {
  table = await createTestTable();
  const send = smithyClient.send;
  vi.spyOn(smithyClient, 'send').mockImplementation(function (this: unknown, command, ...rest) {
    if (recording) sent.add(command.constructor.name);
    return send.call(this, command, ...rest);
  });
  root = mkdtempSync(join(tmpdir(), 'storage-fn-'));
  coldStart(functionEnv(table.tableName, { [ENV.chatsRoot]: root }));
  storage = (await import('../../functions/storage.js')).handler;
});

afterAll(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

describe('storage function', () => {
  it('writes an upload byte for byte under <tenant hash>/<chatId> and answers every byte back unchanged', async () => {
    const chatId = crypto.randomUUID();
    // Not UTF-8, though it claims text/plain: a text answer would have mangled it.
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]);
    const put = await upload(chatId, 'notes/raw.txt', bytes, 'text/plain');
    expect(put.statusCode).toBe(201);
    expect(jsonOf(put)).toMatchObject({ created: true, file: { path: 'notes/raw.txt', size: bytes.length } });

    const dir = chatDir(ALICE, chatId);
    expect(readFileSync(join(dir, 'notes', 'raw.txt'))).toEqual(bytes);
    // The modes the per-chat access points give what EFS creates, so a sandbox sees the same.
    expect(statSync(dir).mode & 0o777).toBe(0o750);
    expect(statSync(join(dir, 'notes')).mode & 0o777).toBe(0o750);
    expect(statSync(join(dir, 'notes', 'raw.txt')).mode & 0o777).toBe(0o640);

    const got = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/file`,
      query: 'path=notes%2Fraw.txt',
    });
    expect(got.statusCode).toBe(200);
    expect(got.isBase64Encoded).toBe(true);
    expect(bytesOf(got)).toEqual(bytes);
    expect(got.headers['content-length']).toBe(String(bytes.length));
    expect(got.headers.etag).toMatch(/^"/);

    // A .json file is application/json: as text it would lose its byte-order mark and bad bytes.
    const json = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"a":"é"}'),
      Buffer.from([0xff]),
    ]);
    expect((await upload(chatId, 'data.json', json)).statusCode).toBe(201);
    const gotJson = await call({ method: 'GET', path: `/v1/chats/${chatId}/file`, query: 'path=data.json' });
    expect(gotJson.headers['content-type']).toBe('application/json');
    expect(bytesOf(gotJson)).toEqual(json);
    const cut = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/file`,
      query: 'path=data.json',
      headers: { range: 'bytes=0-9' },
    });
    expect(bytesOf(cut)).toEqual(json.subarray(0, 10));

    const listed = await call({ method: 'GET', path: `/v1/chats/${chatId}/files` });
    expect(jsonOf(listed)).toMatchObject({
      items: expect.arrayContaining([expect.objectContaining({ path: 'notes/raw.txt' })]),
    });
  });

  it('keeps the history as Markdown and appends to it', async () => {
    const chatId = crypto.randomUUID();
    const history = (method: string, text?: string) =>
      call({
        method,
        path: `/v1/chats/${chatId}/history`,
        ...(text === undefined
          ? {}
          : { rawBody: Buffer.from(text), headers: { 'content-type': 'text/markdown' } }),
      });
    expect((await history('PUT', '# Chat\n')).statusCode).toBe(201);
    expect((await history('POST', 'more ✓\n')).statusCode).toBe(200);
    const read = await history('GET');
    expect(read.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(bytesOf(read).toString('utf8')).toBe('# Chat\nmore ✓\n');
  });

  it('takes a 4 MiB file inside the payload limit and refuses a byte more with its own 413', async () => {
    const chatId = crypto.randomUUID();
    const largest = Buffer.alloc(AWS_MAX_FILE_BYTES, 0x61);
    const event = httpApiEvent({
      method: 'PUT',
      path: `/v1/chats/${chatId}/file`,
      query: 'path=big.bin',
      rawBody: largest,
      headers: { 'content-type': 'application/octet-stream' },
      userArn: ALICE,
    });
    // The event Lambda receives, headers and all, fits its limit.
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(LAMBDA_PAYLOAD_BYTES);
    expect(((await invoke(event)) as Answer).statusCode).toBe(201);

    const over = await upload(chatId, 'over.bin', Buffer.alloc(AWS_MAX_FILE_BYTES + 1, 0x62));
    expect(over.statusCode).toBe(413);
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(jsonOf(over)).toMatchObject({ code: 'payload_too_large' });
    expect(() => statSync(join(chatDir(ALICE, chatId), 'over.bin'))).toThrow();

    // Its answer fits too.
    const got = await call({ method: 'GET', path: `/v1/chats/${chatId}/file`, query: 'path=big.bin' });
    expect(got.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(got))).toBeLessThan(LAMBDA_PAYLOAD_BYTES);
  });

  it('answers a larger file an agent wrote in ranges, never with an answer over the limit', async () => {
    const chatId = crypto.randomUUID();
    const dir = chatDir(ALICE, chatId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'agent.bin'), Buffer.alloc(5 * 1024 * 1024, 0x63));
    const whole = await call({ method: 'GET', path: `/v1/chats/${chatId}/file`, query: 'path=agent.bin' });
    expect(whole.statusCode).toBe(413);
    expect(jsonOf(whole).detail).toMatch(/Range: bytes=0-4194303/);

    const ranged = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/file`,
      query: 'path=agent.bin',
      headers: { range: 'bytes=0-' },
    });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 0-${AWS_MAX_FILE_BYTES - 1}/${5 * 1024 * 1024}`);
    expect(bytesOf(ranged)).toHaveLength(AWS_MAX_FILE_BYTES);
    expect(Buffer.byteLength(JSON.stringify(ranged))).toBeLessThan(LAMBDA_PAYLOAD_BYTES);
  });

  it("keeps every caller inside its own tenant's chat directories", async () => {
    const chatId = crypto.randomUUID();
    expect((await upload(chatId, 'secret.txt', Buffer.from('alice only'))).statusCode).toBe(201);
    const bob = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/file`,
      query: 'path=secret.txt',
      userArn: BOB,
    });
    expect(bob.statusCode).toBe(404);
    expect(jsonOf(bob)).toMatchObject({ code: 'chat_file_not_found' });

    const traversal = await upload(chatId, '../escape.txt', Buffer.from('x'));
    expect(traversal.statusCode).toBe(422);
    // A link an agent planted is never followed, even to the tenant's own root.
    symlinkSync(root, join(chatDir(ALICE, chatId), 'link'));
    const through = await upload(chatId, 'link/planted.txt', Buffer.from('x'));
    expect(through.statusCode).toBe(422);
    expect(() => statSync(join(root, 'planted.txt'))).toThrow();
  });

  it('purges: 202, then removes the directory only for a settled, fenced purge under the current mark', async () => {
    const chatId = crypto.randomUUID();
    const key = { tenant: ALICE, chatId };
    // An earlier sandbox of the chat, stopped and settled.
    const ended = sessionOf(key, Date.now() - 60_000, {
      status: 'stopped',
      stoppedAt: Date.now() - 1_000,
      settledAt: Date.now() - 500,
      stopReason: 'deleted',
      dueAt: null,
    });
    expect((await own(() => table.store.claim(ended, null))).ok).toBe(true);
    expect((await upload(chatId, 'a.txt', Buffer.from('a'))).statusCode).toBe(201);
    const purge = await call({ method: 'DELETE', path: `/v1/chats/${chatId}` });
    expect(purge.statusCode).toBe(202);
    const purgingAt = Date.parse(jsonOf(purge).purgingAt as string);
    // Writes are refused from the mark on.
    expect((await upload(chatId, 'b.txt', Buffer.from('b'))).statusCode).toBe(409);

    const removal = { action: 'removeChatDirectory', tenant: ALICE, chatId };
    // Too early: a write that began before the mark may still run.
    await expect(invoke({ ...removal, purgingAt })).resolves.toEqual({
      removed: false,
      reason: 'the purge has not settled yet',
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(purgingAt + PURGE_SETTLE_MS + 1_000);
      await expect(invoke({ ...removal, purgingAt: purgingAt - 1 })).resolves.toEqual({
        removed: false,
        reason: 'the chat is not purging under this mark',
      });
      await expect(invoke({ ...removal, tenant: BOB, purgingAt })).resolves.toMatchObject({ removed: false });
      // Settled, but the session is not fenced yet: a create could still claim the chat.
      await expect(invoke({ ...removal, purgingAt })).resolves.toEqual({
        removed: false,
        reason: "the chat's session is not fenced for this purge",
      });
      expect(statSync(chatDir(ALICE, chatId)).isDirectory()).toBe(true);

      await own(() => new DynamoChatPurges(table.client, table.tableName).fenceSession(key, purgingAt));
      await expect(invoke({ ...removal, purgingAt })).resolves.toEqual({ removed: true });
      expect(() => statSync(chatDir(ALICE, chatId))).toThrow();
      // Idempotent: a retried request after a lost answer removes nothing more and succeeds.
      await expect(invoke({ ...removal, purgingAt })).resolves.toEqual({ removed: true });
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a malformed removal request without touching anything', async () => {
    await expect(invoke({ action: 'removeChatDirectory', tenant: ALICE })).rejects.toThrow(
      /malformed directory removal request/,
    );
    // A chat id is a canonical UUID: nothing else can name a path below the mount.
    await expect(
      invoke({ action: 'removeChatDirectory', tenant: ALICE, chatId: '../..', purgingAt: 1 }),
    ).rejects.toThrow(/chatId/);
    expect(statSync(root).isDirectory()).toBe(true);
  });

  it('sends DynamoDB only the calls its role grants: GetItem and UpdateItem', () => {
    // The test table's own setup ran before the spy took hold; everything after is the function's.
    expect(sent.size).toBeGreaterThan(0);
    expect([...sent].filter((name) => !GRANTED.has(name))).toEqual([]);
  });
});
