import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIST_MAX_ENTRIES } from '../../src/adapters/fs/chat-tree.js';
import { ChatFileExists, ChatPathRefused } from '../../src/core/chat-files-port.js';
import { makeTreeFixture } from './tree-fixture.js';

const fixture = makeTreeFixture();
const { files } = fixture;
const text = (body: Buffer | undefined) => body?.toString('utf8');

afterAll(() => rmSync(fixture.base, { recursive: true, force: true }));

describe('PosixChatFiles round trips', () => {
  it('creates the layout: a private chat directory and an empty history, keeping an existing one', async () => {
    const chat = fixture.chat();
    await files.ensureLayout(chat);
    const root = fixture.rootOf(chat);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, 'history.md'), 'utf8')).toBe('');
    await files.append(chat, 'history.md', Buffer.from('# hello\n'));
    await files.ensureLayout(chat);
    expect(text((await files.read(chat, 'history.md'))?.body)).toBe('# hello\n');
  });

  it('writes a file with its missing directories and reads back the same bytes and info', async () => {
    const chat = fixture.chat();
    const body = Buffer.from('héllo wörld');
    const written = await files.write(chat, 'docs/notes/a b.txt', body, { exclusive: false });
    expect(written.created).toBe(true);
    expect(written.info).toMatchObject({ path: 'docs/notes/a b.txt', size: body.length });
    expect(written.info.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    const read = await files.read(chat, 'docs/notes/a b.txt');
    expect(read?.body.equals(body)).toBe(true);
    expect(read?.info).toEqual(written.info);
    expect(await files.stat(chat, 'docs/notes/a b.txt')).toEqual(written.info);
    const root = fixture.rootOf(chat);
    expect(statSync(join(root, 'docs', 'notes')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'docs', 'notes', 'a b.txt')).mode & 0o777).toBe(0o600);
    expect(Math.abs(written.info.modifiedAt - Date.now())).toBeLessThan(60_000);
  });

  it('changes the etag when a file is replaced, even by the same number of bytes', async () => {
    const chat = fixture.chat();
    const first = await files.write(chat, 'a.txt', Buffer.from('aaaa'), { exclusive: false });
    const second = await files.write(chat, 'a.txt', Buffer.from('bbbb'), { exclusive: false });
    expect(second.created).toBe(false);
    expect(second.info.etag).not.toBe(first.info.etag);
    expect((await files.stat(chat, 'a.txt'))?.etag).toBe(second.info.etag);
    expect(text((await files.read(chat, 'a.txt'))?.body)).toBe('bbbb');
  });

  it('reads only the bytes of a range, clamping the end to the last byte', async () => {
    const chat = fixture.chat();
    await files.write(chat, 'r.bin', Buffer.from('0123456789'), { exclusive: false });
    expect(text((await files.read(chat, 'r.bin', { start: 2, end: 4 }))?.body)).toBe('234');
    expect(text((await files.read(chat, 'r.bin', { start: 7, end: 99 }))?.body)).toBe('789');
    expect(text((await files.read(chat, 'r.bin', { start: 9, end: 9 }))?.body)).toBe('9');
    const ranged = await files.read(chat, 'r.bin', { start: 0, end: 0 });
    expect(ranged?.info.size).toBe(10);
    await files.write(chat, 'empty', Buffer.alloc(0), { exclusive: false });
    expect((await files.read(chat, 'empty'))?.body.length).toBe(0);
  });

  it('appends in order, creating the file', async () => {
    const chat = fixture.chat();
    const first = await files.append(chat, 'history.md', Buffer.from('one\n'));
    const second = await files.append(chat, 'history.md', Buffer.from('two\n'));
    expect(first.size).toBe(4);
    expect(second.size).toBe(8);
    expect(second.etag).not.toBe(first.etag);
    expect(text((await files.read(chat, 'history.md'))?.body)).toBe('one\ntwo\n');
  });

  it('answers null, false, an empty page and no bytes for a chat or file that does not exist', async () => {
    const chat = fixture.chat();
    expect(await files.stat(chat, 'x')).toBeNull();
    expect(await files.read(chat, 'a/b/x')).toBeNull();
    expect(await files.remove(chat, 'a/x')).toBe(false);
    expect(await files.list(chat, { limit: 10 })).toEqual({ items: [], next: null });
    expect(await files.usage(chat, 100)).toEqual({ bytes: 0, complete: true });
    await files.purge(chat);
    await files.ensureLayout(chat);
    expect(await files.stat(chat, 'x')).toBeNull();
    expect(await files.read(chat, 'missing/x')).toBeNull();
  });

  it('removes a file idempotently and keeps its empty parent directory', async () => {
    const chat = fixture.chat();
    await files.write(chat, 'd/x', Buffer.from('x'), { exclusive: false });
    expect(await files.remove(chat, 'd/x')).toBe(true);
    expect(await files.remove(chat, 'd/x')).toBe(false);
    expect(statSync(join(fixture.rootOf(chat), 'd')).isDirectory()).toBe(true);
    await expect(files.remove(chat, 'd')).rejects.toThrow(
      new ChatPathRefused("'d' is a directory, not a file"),
    );
  });

  it('refuses a directory where a file is asked for, and a file where a directory is', async () => {
    const chat = fixture.chat();
    await files.write(chat, 'dir/f', Buffer.from('f'), { exclusive: false });
    for (const attempt of [
      () => files.read(chat, 'dir'),
      () => files.stat(chat, 'dir'),
      () => files.write(chat, 'dir', Buffer.from('x'), { exclusive: false }),
      () => files.write(chat, 'dir', Buffer.from('x'), { exclusive: true }),
      () => files.append(chat, 'dir', Buffer.from('x')),
    ]) {
      await expect(attempt()).rejects.toThrow(/'dir' is a directory, not a file/);
    }
    for (const attempt of [
      () => files.read(chat, 'dir/f/g'),
      () => files.write(chat, 'dir/f/g', Buffer.from('x'), { exclusive: false }),
      () => files.remove(chat, 'dir/f/g'),
    ]) {
      await expect(attempt()).rejects.toThrow(/'dir\/f' is a file, not a directory/);
    }
    expect(readdirSync(join(fixture.rootOf(chat), 'dir'))).toEqual(['f']);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const chat = fixture.chat();
    await files.ensureLayout(chat);
    execFileSync('mkfifo', [join(fixture.rootOf(chat), 'pipe')]);
    await expect(files.read(chat, 'pipe')).rejects.toThrow(/'pipe' is a special file, not a file/);
    await expect(files.append(chat, 'pipe', Buffer.from('x'))).rejects.toThrow(ChatPathRefused);
    await expect(files.remove(chat, 'pipe')).rejects.toThrow(ChatPathRefused);
    expect((await files.list(chat, { limit: 10 })).items.map((item) => item.path)).toEqual(['history.md']);
  });

  it('refuses paths the routes would refuse, as defence in depth', async () => {
    const chat = fixture.chat();
    await files.write(chat, 'ok', Buffer.from('ok'), { exclusive: false });
    for (const path of [
      '../x',
      '/etc/passwd',
      'a//b',
      'a/./b',
      '',
      '.sandbox-tmp-1',
      'a\\b',
      'a\u0000b',
      '\ud800',
    ]) {
      await expect(files.read(chat, path)).rejects.toThrow(ChatPathRefused);
      await expect(files.write(chat, path, Buffer.from('x'), { exclusive: false })).rejects.toThrow(
        ChatPathRefused,
      );
    }
    expect(readdirSync(fixture.rootOf(chat))).toEqual(['ok']);
  });
});

describe('PosixChatFiles exclusive and concurrent writes', () => {
  it('refuses an exclusive write over an existing file and leaves it as it was', async () => {
    const chat = fixture.chat();
    const first = await files.write(chat, 'once', Buffer.from('first'), { exclusive: true });
    expect(first.created).toBe(true);
    await expect(files.write(chat, 'once', Buffer.from('second'), { exclusive: true })).rejects.toThrow(
      new ChatFileExists('once'),
    );
    expect(await files.stat(chat, 'once')).toEqual(first.info);
    expect(readdirSync(fixture.rootOf(chat))).toEqual(['once']);
  });

  it('lets exactly one of many concurrent exclusive writes of one path win', async () => {
    const chat = fixture.chat();
    const bodies = Array.from({ length: 16 }, (_, index) => Buffer.from(`writer ${index}`));
    const outcomes = await Promise.allSettled(
      bodies.map((body) => files.write(chat, 'race/one', body, { exclusive: true })),
    );
    const won = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ChatFileExists);
    }
    expect(text((await files.read(chat, 'race/one'))?.body)).toBe(`writer ${won[0]}`);
    expect(readdirSync(join(fixture.rootOf(chat), 'race'))).toEqual(['one']);
  });

  it('shows every reader one whole content while many writers replace the file', async () => {
    const chat = fixture.chat();
    const contents = Array.from({ length: 20 }, (_, index) => String(index).padStart(2, '0').repeat(50_000));
    await files.write(chat, 'busy.txt', Buffer.from(contents[0]!), { exclusive: false });
    let writing = true;
    const seen = new Set<string>();
    const reader = async () => {
      while (writing) {
        const read = await files.read(chat, 'busy.txt');
        const body = text(read?.body) ?? '';
        expect(contents).toContain(body);
        expect(read?.info.size).toBe(body.length);
        seen.add(body.slice(0, 2));
      }
    };
    const readers = [reader(), reader()];
    await Promise.all(
      contents.map((content) => files.write(chat, 'busy.txt', Buffer.from(content), { exclusive: false })),
    );
    writing = false;
    await Promise.all(readers);
    expect(seen.size).toBeGreaterThan(0);
    expect(contents).toContain(text((await files.read(chat, 'busy.txt'))?.body));
    expect(readdirSync(fixture.rootOf(chat))).toEqual(['busy.txt']);
  });
});

describe('PosixChatFiles list, usage and purge', () => {
  it('lists regular files in byte order of their paths, by prefix, after a path and page by page', async () => {
    const chat = fixture.chat();
    const paths = ['a/b', 'a-c', 'a.txt', 'b/ü/z', 'b/é', 'B', 'a/b0/c', 'zz', '日本/語', 'history.md'];
    for (const path of paths) await files.write(chat, path, Buffer.from(path), { exclusive: false });
    // Not listed: the adapter's temporary files, names the routes refuse, empty directories.
    const root = fixture.rootOf(chat);
    writeFileSync(join(root, '.sandbox-tmp-leftover'), 'x');
    writeFileSync(join(root, 'back\\slash'), 'x');
    mkdirSync(join(root, 'empty'));
    const sorted = [...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const all = await files.list(chat, { limit: 100 });
    expect(all.items.map((item) => item.path)).toEqual(sorted);
    expect(all.next).toBeNull();
    expect(all.items.find((item) => item.path === 'b/é')).toEqual(await files.stat(chat, 'b/é'));
    expect((await files.list(chat, { prefix: 'a', limit: 100 })).items.map((item) => item.path)).toEqual([
      'a-c',
      'a.txt',
      'a/b',
      'a/b0/c',
    ]);
    expect((await files.list(chat, { prefix: 'b/', limit: 100 })).items.map((item) => item.path)).toEqual([
      'b/é',
      'b/ü/z',
    ]);
    expect((await files.list(chat, { after: 'a/b', limit: 2 })).items.map((item) => item.path)).toEqual([
      'a/b0/c',
      'b/é',
    ]);
    const paged: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const got = await files.list(chat, { limit: 3, ...(after === undefined ? {} : { after }) });
      paged.push(...got.items.map((item) => item.path));
      expect(got.items.length).toBeLessThanOrEqual(3);
      if (got.next === null) break;
      expect(got.next).toBe(got.items.at(-1)?.path);
      after = got.next;
    }
    expect(paged).toEqual(sorted);
  });

  it('refuses to list a chat with more entries than the walk reads', async () => {
    const chat = fixture.chat();
    await files.ensureLayout(chat);
    const root = fixture.rootOf(chat);
    for (let index = 0; index < LIST_MAX_ENTRIES; index += 1)
      closeSync(openSync(join(root, `f${index}`), 'w'));
    await expect(files.list(chat, { limit: 1, after: 'zzz' })).rejects.toThrow(
      new ChatPathRefused('the chat has too many files to list'),
    );
    rmSync(root, { recursive: true });
  });

  it('sums the bytes of regular files, and says when the walk stopped short', async () => {
    const chat = fixture.chat();
    await files.write(chat, 'a', Buffer.alloc(10), { exclusive: false });
    await files.write(chat, 'd/b', Buffer.alloc(20), { exclusive: false });
    await files.write(chat, 'd/e/c', Buffer.alloc(30), { exclusive: false });
    expect(await files.usage(chat, 100)).toEqual({ bytes: 60, complete: true });
    const cut = await files.usage(chat, 2);
    expect(cut.complete).toBe(false);
    expect(cut.bytes).toBeLessThan(60);
  });

  it('purges the whole tree, deeper than it holds open, and is idempotent', async () => {
    const chat = fixture.chat();
    const deep = Array.from({ length: 40 }, (_, index) => `l${index}`);
    const root = fixture.rootOf(chat);
    mkdirSync(join(root, ...deep), { recursive: true });
    writeFileSync(join(root, ...deep, 'bottom'), 'x');
    await files.write(chat, 'a/b/c', Buffer.from('c'), { exclusive: false });
    await files.ensureLayout(chat);
    await files.purge(chat);
    expect(existsSync(root)).toBe(false);
    await files.purge(chat);
    expect(existsSync(join(fixture.base, 'chats', chat.tenant))).toBe(true);
  });
});
