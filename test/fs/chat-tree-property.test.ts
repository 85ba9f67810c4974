import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatFileExists, type ChatFileInfo, ChatPathRefused } from '../../src/core/chat-files-port.js';
import { chatPathViolation } from '../../src/core/chat-paths.js';
import type { ChatKey } from '../../src/core/model.js';
import { makeTreeFixture, snapshot } from './tree-fixture.js';

const fixture = makeTreeFixture();
const { files, outside, sentinel } = fixture;
const before = snapshot(outside);
const RUNS = 1_000;

afterAll(() => rmSync(fixture.base, { recursive: true, force: true }));

const SEGMENTS = [
  '..',
  '.',
  '',
  'a',
  'b',
  'L',
  'F',
  'ü',
  '日本語',
  'with space',
  'x'.repeat(256),
  'y'.repeat(255),
  'secret.txt',
  'sub',
  'history.md',
  '.sandbox-tmp-x',
] as const;

/** Where links point: outside's directories and files, a missing file there, relative escapes. */
const TARGETS = [
  outside,
  join(outside, 'secret.txt'),
  join(outside, 'sub'),
  join(outside, 'made-through-a-link'),
  '../../../outside',
  '../../../../outside/secret.txt',
  '../../../../../outside/sub',
] as const;

const pathArbitrary = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 5 }))
  .map(([absolute, segments]) => `${absolute ? '/' : ''}${segments.join('/')}`);

const operationArbitrary = fc.record({
  kind: fc.constantFrom(
    'read',
    'range',
    'stat',
    'write',
    'create',
    'append',
    'remove',
    'list',
    'usage',
    'ensureLayout',
    'purge',
  ),
  path: pathArbitrary,
  /** Past `chatPathViolation`, as the routes would not: the adapter must refuse by itself. */
  raw: fc.boolean(),
});

const treeArbitrary = fc.record({
  dirs: fc.subarray(['a', 'a/b', 'b', 'a/b/sub', 'L']),
  files: fc.subarray(['a/secret.txt', 'b/F', 'h', 'history.md']),
  links: fc.array(
    fc.record({
      at: fc.constantFrom('', 'a/', 'a/b/', 'b/'),
      name: fc.constantFrom('L', 'F', 'a', 'b', 'sub', 'secret.txt', 'history.md'),
      target: fc.constantFrom(...TARGETS),
    }),
    { maxLength: 4 },
  ),
});

type Tree = typeof treeArbitrary extends fc.Arbitrary<infer T> ? T : never;
type Operation = typeof operationArbitrary extends fc.Arbitrary<infer T> ? T : never;

function plant(root: string, tree: Tree): void {
  mkdirSync(root, { recursive: true });
  for (const dir of tree.dirs) mkdirSync(join(root, dir), { recursive: true });
  for (const file of tree.files) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), `inside ${file}`);
  }
  for (const link of tree.links) {
    // Planted only under real directories: the test must not write outside through its own links.
    if (!realDirectory(root, link.at)) continue;
    try {
      symlinkSync(link.target, join(root, `${link.at}${link.name}`));
    } catch {
      // A directory or file already has the name.
    }
  }
}

/** Whether `at` (ending in / or empty) is a real directory below `root`, made when missing. */
function realDirectory(root: string, at: string): boolean {
  let dir = root;
  for (const segment of at.split('/').filter(Boolean)) {
    dir = join(dir, segment);
    const stats = lstatSync(dir, { throwIfNoEntry: false });
    if (!stats) mkdirSync(dir);
    else if (!stats.isDirectory()) return false;
  }
  return true;
}

/** The chat's regular files the routes can name, and their bytes, by a walk that follows nothing. */
function regularFiles(root: string): { paths: string[]; bytes: number } {
  const paths: string[] = [];
  let bytes = 0;
  const walk = (dir: string, base: string) => {
    for (const name of readdirSync(dir)) {
      const stats = lstatSync(join(dir, name));
      if (stats.isDirectory()) walk(join(dir, name), `${base}${name}/`);
      else if (stats.isFile()) {
        bytes += stats.size;
        if (chatPathViolation(`${base}${name}`, { history: true }) === null) paths.push(`${base}${name}`);
      }
    }
  };
  try {
    walk(root, '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { paths: paths.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), bytes };
}

const outcomes = { ok: 0, refused: 0, exists: 0, skipped: 0, other: new Map<string, number>() };
/** Inodes of the sentinel files: an answer naming one has read outside's metadata. */
const outsideInodes = ['secret.txt', 'sub/deep-secret.txt'].map((path) => lstatSync(join(outside, path)).ino);

function expectInside(info: ChatFileInfo): void {
  for (const ino of outsideInodes) expect(info.etag.startsWith(`"${ino.toString(16)}-`)).toBe(false);
  expect(info.path.endsWith('deep-secret.txt')).toBe(false);
}

/** Runs one operation, answering what it read: file infos and bodies. */
async function run(
  chat: ChatKey,
  operation: Operation,
): Promise<{ infos: ChatFileInfo[]; bodies: Buffer[] }> {
  const { kind, path } = operation;
  const body = Buffer.from(`written to ${path}`);
  const none = { infos: [], bodies: [] };
  switch (kind) {
    case 'read':
    case 'range': {
      const read = await files.read(chat, path, kind === 'range' ? { start: 1, end: 5 } : undefined);
      return read ? { infos: [read.info], bodies: [read.body] } : none;
    }
    case 'stat': {
      const info = await files.stat(chat, path);
      return { infos: info ? [info] : [], bodies: [] };
    }
    case 'write':
    case 'create':
      return {
        infos: [(await files.write(chat, path, body, { exclusive: kind === 'create' })).info],
        bodies: [],
      };
    case 'append':
      return { infos: [await files.append(chat, path, body)], bodies: [] };
    case 'remove':
      await files.remove(chat, path);
      return none;
    case 'list':
      return {
        infos: [...(await files.list(chat, { prefix: path.slice(0, 2), limit: 50 })).items],
        bodies: [],
      };
    case 'usage':
      await files.usage(chat, 1_000);
      return none;
    case 'ensureLayout':
      await files.ensureLayout(chat);
      return none;
    case 'purge':
      await files.purge(chat);
      return none;
  }
}

describe('PosixChatFiles under hostile paths and planted links', () => {
  it('never creates, changes or reads anything outside the chat, whatever the outcome', async () => {
    let cases = 0;
    const property = fc.asyncProperty(
      treeArbitrary,
      fc.array(operationArbitrary, { minLength: 1, maxLength: 6 }),
      async (tree, operations) => {
        cases += 1;
        const chat = { tenant: 'tenant-p', chatId: `case-${cases}` };
        const root = fixture.rootOf(chat);
        plant(root, tree);
        // Everything of the data folder but this chat: the outside files, the chats' folders.
        const elsewhere = snapshot(fixture.base, root);
        for (const operation of operations) {
          if (!operation.raw && chatPathViolation(operation.path, { history: true }) !== null) {
            outcomes.skipped += 1;
            continue;
          }
          let answered: { infos: ChatFileInfo[]; bodies: Buffer[] };
          try {
            answered = await run(chat, operation);
            outcomes.ok += 1;
          } catch (error) {
            if (error instanceof ChatPathRefused) outcomes.refused += 1;
            else if (error instanceof ChatFileExists) outcomes.exists += 1;
            else {
              const code = (error as NodeJS.ErrnoException).code ?? String(error);
              outcomes.other.set(code, (outcomes.other.get(code) ?? 0) + 1);
            }
            continue;
          }
          for (const info of answered.infos) expectInside(info);
          for (const read of answered.bodies)
            expect(read.toString('utf8')).not.toContain(sentinel.slice(1, 6));
        }
        expect(snapshot(fixture.base, root)).toEqual(elsewhere);
        // What the chat holds is what list and usage answer, counted by a walk that follows nothing.
        const expected = regularFiles(root);
        const listed = await files.list(chat, { limit: 1_000 });
        expect(listed.items.map((item) => item.path)).toEqual(expected.paths);
        expect(await files.usage(chat, 10_000)).toEqual({ bytes: expected.bytes, complete: true });
        await files.purge(chat);
        expect(existsSync(root)).toBe(false);
        expect(snapshot(fixture.base, root)).toEqual(elsewhere);
      },
    );
    await fc.assert(property, { numRuns: RUNS, seed: 20_261_201 });
    expect(cases).toBeGreaterThanOrEqual(RUNS);
    expect(outcomes.ok).toBeGreaterThan(RUNS);
    expect(outcomes.refused).toBeGreaterThan(RUNS / 2);
    expect(outcomes.skipped).toBeGreaterThan(0);
    expect(snapshot(outside)).toEqual(before);
  });
});
