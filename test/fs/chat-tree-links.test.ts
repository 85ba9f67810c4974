import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatPathRefused } from '../../src/core/chat-files-port.js';
import type { ChatKey } from '../../src/core/model.js';
import { makeTreeFixture, snapshot } from './tree-fixture.js';

const fixture = makeTreeFixture();
const { files, outside, sentinel } = fixture;
const before = snapshot(outside);

afterAll(() => rmSync(fixture.base, { recursive: true, force: true }));

/** A chat with its layout and the links `plant` makes, by path relative to the chat's root. */
async function chatWith(links: Record<string, string>): Promise<ChatKey> {
  const chat = fixture.chat();
  await files.ensureLayout(chat);
  const root = fixture.rootOf(chat);
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  return chat;
}

/** Every operation that takes a path, at `path`: each must be refused. */
function everyOperation(chat: ChatKey, path: string) {
  return {
    read: () => files.read(chat, path),
    range: () => files.read(chat, path, { start: 0, end: 3 }),
    stat: () => files.stat(chat, path),
    write: () => files.write(chat, path, Buffer.from('planted'), { exclusive: false }),
    create: () => files.write(chat, path, Buffer.from('planted'), { exclusive: true }),
    append: () => files.append(chat, path, Buffer.from('planted')),
    remove: () => files.remove(chat, path),
  };
}

async function expectAllRefused(chat: ChatKey, path: string, message: RegExp): Promise<void> {
  for (const [name, operation] of Object.entries(everyOperation(chat, path))) {
    await expect(operation(), name).rejects.toThrow(ChatPathRefused);
    await expect(operation(), name).rejects.toThrow(message);
  }
}

describe('PosixChatFiles and links planted in the chat', () => {
  it('refuses every operation on a link to a file outside, which stays as it was', async () => {
    const chat = await chatWith({
      'secret.txt': join(outside, 'secret.txt'),
      'rel.txt': '../../../outside/secret.txt',
    });
    await expectAllRefused(chat, 'secret.txt', /^'secret.txt' is a symbolic link, not a file$/);
    await expectAllRefused(chat, 'rel.txt', /'rel.txt' is a symbolic link/);
    expect(lstatSync(join(fixture.rootOf(chat), 'secret.txt')).isSymbolicLink()).toBe(true);
    expect(snapshot(outside)).toEqual(before);
  });

  it('refuses a dangling link to a path outside without creating it', async () => {
    const target = join(outside, `created-${randomUUID()}`);
    const chat = await chatWith({ dangling: target, 'd/dangling': target });
    await expectAllRefused(chat, 'dangling', /'dangling' is a symbolic link/);
    await expectAllRefused(chat, 'd/dangling', /'d\/dangling' is a symbolic link/);
    expect(existsSync(target)).toBe(false);
    expect(snapshot(outside)).toEqual(before);
  });

  it('refuses a linked directory anywhere in the path, creating nothing outside', async () => {
    const chat = await chatWith({ docs: outside, 'a/b/docs': outside, 'a/up': '../../../../outside' });
    for (const path of ['docs/secret.txt', 'docs/new.txt', 'docs/sub/deep-secret.txt', 'docs/new/dir/x']) {
      await expectAllRefused(chat, path, /^'docs' is a symbolic link, not a directory$/);
    }
    await expectAllRefused(chat, 'a/b/docs/secret.txt', /^'a\/b\/docs' is a symbolic link, not a directory$/);
    await expectAllRefused(chat, 'a/up/secret.txt', /'a\/up' is a symbolic link/);
    expect(snapshot(outside)).toEqual(before);
  });

  it('lists and measures the chat without following links, and purges the links, not their targets', async () => {
    const chat = await chatWith({ docs: outside, 'a/secret.txt': join(outside, 'secret.txt') });
    await files.write(chat, 'a/mine.txt', Buffer.from('mine'), { exclusive: false });
    const page = await files.list(chat, { limit: 100 });
    expect(page.items.map((item) => item.path)).toEqual(['a/mine.txt', 'history.md']);
    expect(await files.usage(chat, 1_000)).toEqual({ bytes: 4, complete: true });
    await files.purge(chat);
    expect(existsSync(fixture.rootOf(chat))).toBe(false);
    expect(snapshot(outside)).toEqual(before);
  });

  it('never leaves the chat while a directory is swapped with a link to outside during operations', async () => {
    const chat = await chatWith({});
    const root = fixture.rootOf(chat);
    const swapped = join(root, 'swap');
    const aside = join(root, 'aside');
    let running = true;
    let swaps = 0;
    // Another task keeps replacing the directory `swap` by a link to outside and back.
    const swapper = (async () => {
      while (running) {
        // Writers holding the old directory open may still add to it: a failed removal is retried.
        await rm(aside, { recursive: true, force: true }).catch(() => undefined);
        await rename(swapped, aside).catch(() => undefined);
        await symlink(outside, swapped).catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
        await rm(swapped, { force: true }).catch(() => undefined);
        await mkdir(swapped).catch(() => undefined);
        swaps += 1;
      }
    })();
    const outcomes = { ok: 0, refused: 0, other: 0 };
    const worker = async (index: number) => {
      for (let round = 0; round < 40; round += 1) {
        const path = round % 2 === 0 ? 'swap/secret.txt' : `swap/sub/f${index}`;
        for (const [name, operation] of Object.entries(everyOperation(chat, path))) {
          try {
            const result = await operation();
            if (name === 'read' || name === 'range') {
              const body = (result as { body: Buffer } | null)?.body.toString('utf8') ?? '';
              expect(body).not.toContain(sentinel);
            }
            outcomes.ok += 1;
          } catch (error) {
            if (error instanceof ChatPathRefused) outcomes.refused += 1;
            else outcomes.other += 1;
          }
        }
        // Through the link the walk would find outside's sub/deep-secret.txt.
        const listed = await files.list(chat, { limit: 1_000 });
        expect(listed.items.filter((item) => item.path.endsWith('deep-secret.txt'))).toEqual([]);
        const measured = await files.usage(chat, 1_000);
        expect(measured.complete).toBe(true);
      }
    };
    try {
      await Promise.all(Array.from({ length: 6 }, (_, index) => worker(index)));
    } finally {
      running = false;
      await swapper;
    }
    expect(swaps).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(snapshot(outside)).toEqual(before);
    await files.purge(chat);
    expect(snapshot(outside)).toEqual(before);
  });

  it('never reads outside while a file is swapped with a link to a file outside', async () => {
    const chat = await chatWith({});
    const root = fixture.rootOf(chat);
    let running = true;
    const swapper = (async () => {
      while (running) {
        await rm(join(root, 'f'), { force: true });
        await symlink(join(outside, 'secret.txt'), join(root, 'f')).catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
        await rm(join(root, 'f'), { force: true });
        writeFileSync(join(root, 'f'), 'plain');
      }
    })();
    const bodies = new Set<string>();
    try {
      for (let round = 0; round < 300; round += 1) {
        const read = await files.read(chat, 'f').catch((error: unknown) => {
          if (!(error instanceof ChatPathRefused)) throw error;
          return null;
        });
        if (read) bodies.add(read.body.toString('utf8'));
        await files.append(chat, 'f', Buffer.from('+')).catch(() => undefined);
      }
    } finally {
      running = false;
      await swapper;
    }
    for (const body of bodies) expect(body).not.toContain(sentinel);
    expect(snapshot(outside)).toEqual(before);
  });
});
