/**
 * A file or directory the agent locked (mode 000, or owned by another user) makes the file system
 * refuse with EACCES or EPERM. The tests run as root here, which no mode stops, so the adapter is
 * wrapped to fail as it would for an ordinary user: the caller gets 422 naming the path parameter,
 * and nothing of the host's paths.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatFiles } from '../../src/core/chat-files-port.js';
import { httpHarness, json } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function denied(code: 'EACCES' | 'EPERM', syscall: string): Error {
  return Object.assign(new Error(`${code}: permission denied, ${syscall} '/srv/data/chats/local/secret'`), {
    code,
    syscall,
    path: '/srv/data/chats/local/secret',
  });
}

/** The real adapter, with `write`, `read` and `remove` refused as the kernel would. */
function locked(files: ChatFiles): ChatFiles {
  return {
    list: (chat, query) => files.list(chat, query),
    stat: (chat, path) => files.stat(chat, path),
    read: async () => {
      throw denied('EACCES', 'open');
    },
    write: async () => {
      throw denied('EACCES', 'openat');
    },
    append: (chat, path, body) => files.append(chat, path, body),
    remove: async () => {
      throw denied('EPERM', 'unlink');
    },
    usage: (chat, max) => files.usage(chat, max),
    ensureLayout: (chat) => files.ensureLayout(chat),
    purge: (chat) => files.purge(chat),
  };
}

describe('chat storage on a path the agent locked', () => {
  it('answers 422 naming the path, with no host path in the body, for writes and deletes', async () => {
    const storageDir = mkdtempSync(join(tmpdir(), 'storage-locked-'));
    dirs.push(storageDir);
    const { call } = await httpHarness({ storageDir, wrapFiles: locked });
    const chat = `/v1/chats/${crypto.randomUUID()}`;
    const answers = [
      await call('PUT', `${chat}/file?path=secret`, {
        body: 'x',
        headers: { 'content-type': 'application/octet-stream' },
      }),
      await call('DELETE', `${chat}/file?path=secret`),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(422);
      const text = await answer.text();
      expect(text).not.toContain('/srv/data');
      expect(JSON.parse(text)).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: 'path', message: 'permission denied in the chat directory' }],
      });
    }
  });

  it('refuses the read of a file that exists with 422', async () => {
    const storageDir = mkdtempSync(join(tmpdir(), 'storage-locked-'));
    dirs.push(storageDir);
    const open = await httpHarness({ storageDir });
    const chat = `/v1/chats/${crypto.randomUUID()}`;
    const put = await open.call('PUT', `${chat}/file?path=notes.txt`, {
      body: 'hello',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(201);
    const { call } = await httpHarness({ storageDir, wrapFiles: locked });
    const read = await call('GET', `${chat}/file?path=notes.txt`);
    expect(read.status).toBe(422);
    expect(await json(read)).toMatchObject({
      errors: [{ path: 'path', message: 'permission denied in the chat directory' }],
    });
  });
});
