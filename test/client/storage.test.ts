/**
 * The client's chat storage methods against a real local control plane: files written and read as
 * bytes, listed across pages, ranges, preconditions, the history, and the typed errors of each.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  PreconditionFailedError,
  SandboxClient,
  StorageQuotaExceededError,
  ValidationError,
} from '../../src/client/index.js';
import { rejectionOf } from '../support/rejection.js';
import { startTestPlane, type TestPlane } from './local-plane.js';

const MAX_FILE_BYTES = 4096;
const OWNER_BYTES = 6000;

/** Every byte value, so a text decoding anywhere on the way would show. */
const EVERY_BYTE = Uint8Array.from({ length: 256 }, (_, index) => index);

describe('SandboxClient chat storage', () => {
  let server: TestPlane;
  let client: SandboxClient;

  beforeAll(async () => {
    server = await startTestPlane({
      token: 'storage-client-token',
      env: {
        SANDBOX_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
        SANDBOX_OWNER_STORAGE_BYTES: String(OWNER_BYTES),
      },
    });
    client = new SandboxClient({ baseUrl: server.url, auth: { token: server.token } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes, lists, reads and removes the files of a chat without a sandbox', async () => {
    const chatId = randomUUID();
    const binary = await client.putFile(chatId, 'attachments/data.bin', EVERY_BYTE, { ifNoneMatch: true });
    expect(binary.created).toBe(true);
    expect(binary.file).toMatchObject({ path: 'attachments/data.bin', size: 256, contentType: null });
    const text = 'héllo wörld\n';
    const notes = await client.putFile(chatId, 'notes/a b+c é.txt', text);
    expect(notes.file).toMatchObject({
      path: 'notes/a b+c é.txt',
      size: new TextEncoder().encode(text).byteLength,
      contentType: 'text/plain; charset=utf-8',
    });

    const listed = await client.listFiles(chatId);
    expect(listed.items.map((item) => item.path)).toEqual(
      expect.arrayContaining(['attachments/data.bin', 'notes/a b+c é.txt']),
    );
    expect(listed.items.find((item) => item.path === 'attachments/data.bin')).toEqual(binary.file);
    expect(listed.totalBytes).toBe(listed.items.reduce((total, item) => total + item.size, 0));
    expect(listed.nextCursor).toBeNull();
    const prefixed = await client.listFiles(chatId, { prefix: 'attachments/' });
    expect(prefixed.items.map((item) => item.path)).toEqual(['attachments/data.bin']);

    const first = await client.listFiles(chatId, { limit: 1 });
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const all: string[] = [];
    for await (const file of client.listAllFiles(chatId, { limit: 1 })) all.push(file.path);
    expect(all).toEqual(listed.items.map((item) => item.path));

    const whole = await client.getFile(chatId, 'attachments/data.bin');
    expect(whole.body).toEqual(EVERY_BYTE);
    expect(whole).toMatchObject({
      etag: binary.file.etag,
      size: 256,
      contentType: 'application/octet-stream',
    });
    expect(whole.range).toBeUndefined();
    expect(Date.parse(whole.modifiedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const read = await client.getFile(chatId, 'notes/a b+c é.txt');
    expect(new TextDecoder().decode(read.body)).toBe(text);
    expect(read.contentType).toBe('text/plain; charset=utf-8');

    const deleted = await client.deleteFile(chatId, 'notes/a b+c é.txt');
    expect(deleted.result).toBe('deleted');
    expect((await client.deleteFile(chatId, 'notes/a b+c é.txt')).result).toBe('not_found');
    const missing = await rejectionOf(client.getFile(chatId, 'notes/a b+c é.txt'));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'chat_file_not_found' });
  });

  it('reads a range, the last bytes or the rest, and refuses a range outside the file', async () => {
    const chatId = randomUUID();
    await client.putFile(chatId, 'data.bin', EVERY_BYTE);
    const middle = await client.getFile(chatId, 'data.bin', { range: { start: 10, end: 19 } });
    expect(middle.body).toEqual(EVERY_BYTE.slice(10, 20));
    expect(middle).toMatchObject({ size: 256, range: { start: 10, end: 19 } });
    const last = await client.getFile(chatId, 'data.bin', { range: { suffix: 6 } });
    expect(last.body).toEqual(EVERY_BYTE.slice(250));
    expect(last.range).toEqual({ start: 250, end: 255 });
    const rest = await client.getFile(chatId, 'data.bin', { range: { start: 200 } });
    expect(rest.body).toEqual(EVERY_BYTE.slice(200));

    const outside = await rejectionOf(client.getFile(chatId, 'data.bin', { range: { start: 256 } }));
    expect(outside).toBeInstanceOf(InvalidRequestError);
    expect(outside).toMatchObject({ status: 416, code: 'range_not_satisfiable' });
  });

  it('creates only with ifNoneMatch and replaces only the version ifMatch names', async () => {
    const chatId = randomUUID();
    const first = await client.putFile(chatId, 'draft.md', '# one\n', { ifNoneMatch: true });
    const taken = await rejectionOf(client.putFile(chatId, 'draft.md', '# two\n', { ifNoneMatch: true }));
    expect(taken).toBeInstanceOf(PreconditionFailedError);
    expect(taken).toMatchObject({ status: 412, code: 'precondition_failed' });

    const second = await client.putFile(chatId, 'draft.md', '# two\n', { ifMatch: first.file.etag });
    expect(second.created).toBe(false);
    expect(second.file.etag).not.toBe(first.file.etag);
    const stale = await rejectionOf(
      client.putFile(chatId, 'draft.md', '# three\n', { ifMatch: first.file.etag }),
    );
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect(new TextDecoder().decode((await client.getFile(chatId, 'draft.md')).body)).toBe('# two\n');
  });

  it('purges a chat: purging at once, then its writes are ConflictError chat_purging', async () => {
    const chatId = randomUUID();
    await client.putFile(chatId, 'a.txt', 'x');
    const purge = await client.purgeChat(chatId);
    expect(purge.result).toBe('purging');
    expect(Number.isNaN(Date.parse(purge.purgingAt!))).toBe(false);
    const refused = await rejectionOf(client.putFile(chatId, 'b.txt', 'y'));
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).code).toBe('chat_purging');
    expect((await client.purgeChat(randomUUID())).result).toBe('not_found');
  });

  it('reads, replaces and appends to the history', async () => {
    const chatId = randomUUID();
    const set = await client.putHistory(chatId, '# Chat\n');
    expect(set.file.path).toBe('history.md');
    const appended = await client.appendHistory(chatId, 'user: grüß dich\n');
    expect(appended.created).toBe(false);
    expect(appended.file.size).toBe(new TextEncoder().encode('# Chat\nuser: grüß dich\n').byteLength);
    expect(await client.getHistory(chatId)).toBe('# Chat\nuser: grüß dich\n');
    await client.putHistory(chatId, '');
    expect(await client.getHistory(chatId)).toBe('');
  });

  it('throws typed errors: an unknown chat, a refused path, too large, over the quota', async () => {
    const unknown = randomUUID();
    for (const call of [client.listFiles(unknown), client.getHistory(unknown)]) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'chat_not_found' });
    }

    const refused = await rejectionOf(client.putFile(randomUUID(), '../escape.txt', 'x'));
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({ status: 422, code: 'validation_failed' });
    expect((refused as ValidationError).errors).toEqual([
      { path: expect.stringMatching(/path$/), message: expect.stringContaining('..') },
    ]);

    const tooLarge = await rejectionOf(
      client.putFile(randomUUID(), 'big.bin', new Uint8Array(MAX_FILE_BYTES + 1)),
    );
    expect(tooLarge).toBeInstanceOf(InvalidRequestError);
    expect(tooLarge).toMatchObject({ status: 413, code: 'payload_too_large' });

    const ownerId = `owner-${randomUUID()}`;
    await client.putFile(randomUUID(), 'a.bin', new Uint8Array(MAX_FILE_BYTES), { ownerId });
    const over = await rejectionOf(
      client.putFile(randomUUID(), 'b.bin', new Uint8Array(OWNER_BYTES - MAX_FILE_BYTES + 1), { ownerId }),
    );
    expect(over).toBeInstanceOf(StorageQuotaExceededError);
    expect(over).toMatchObject({ status: 413, code: 'workspace_quota_exceeded' });
  });
});
