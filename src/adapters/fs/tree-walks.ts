/**
 * The walks over a chat's tree, all through no-follow opens: a listing in byte order of the paths,
 * a bounded size measurement, and the removal of everything below the root (a purge).
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, rename, rmdir, unlink } from 'node:fs/promises';
import { type ChatFileInfo, ChatPathRefused, type ListFilesQuery } from '../../core/chat-files-port.js';
import { CHAT_PATH_LIMITS, chatPathViolation, TEMPORARY_PREFIX } from '../../core/chat-paths.js';
import { codeOf, type Entry, type NoFollowTree, type OpenDir, unless } from './no-follow.js';

/** Directory levels `usage` descends (one open directory each); deeper trees count as incomplete. */
const MEASURE_MAX_DEPTH = 64;
/** Directory levels `purge` holds open; deeper directories are moved up to the root and cleared from there. */
const PURGE_MAX_DEPTH = 32;
/** Names `purge` reads from a directory before removing them and reading again. */
const PURGE_BATCH = 1_000;
/** Batches `purge` clears from one directory before it gives up on a tree that keeps growing. */
const PURGE_MAX_PASSES = 10_000;
/** `lstat` calls `usage` runs at once (each is a round trip on EFS). */
const MEASURE_PARALLEL = 32;

/** The port's view of a regular file; the etag changes with the inode (a rename), size or mtime. */
export function infoOf(path: string, stats: BigIntStats): ChatFileInfo {
  return {
    path,
    size: Number(stats.size),
    modifiedAt: Number(stats.mtimeMs),
    etag: `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`,
  };
}

/** Byte order of UTF-8, which is code point order. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Lists `dir` (at `base`, '' or ending in /) into `state` in byte order: children sorted with a /
 * after directory names visit the paths in the order of their full text. Answers true to stop.
 */
export async function listIn(
  tree: NoFollowTree,
  dir: OpenDir,
  base: string,
  state: ListState,
): Promise<boolean> {
  const { entries, cut } = await tree.entriesOf(dir, () => state.left-- > 0);
  if (cut) throw new ChatPathRefused('the chat has too many files to list');
  const { prefix = '', after, limit } = state.query;
  const depth = base === '' ? 0 : base.split('/').length - 1;
  const keyed = entries
    .filter((entry) => entry.kind !== 'other')
    .map((entry) => ({
      ...entry,
      key: Buffer.from(entry.kind === 'directory' ? `${entry.name}/` : entry.name),
    }))
    .sort((a, b) => Buffer.compare(a.key, b.key));
  for (const entry of keyed) {
    const path = `${base}${entry.name}`;
    // Only paths the routes accept (not the temporary files): others could not be read back.
    if (chatPathViolation(path, { history: true }) !== null) continue;
    if (entry.kind === 'directory') {
      const inside = `${path}/`;
      if (depth + 1 >= CHAT_PATH_LIMITS.maxDepth) continue;
      if (!(inside.startsWith(prefix) || prefix.startsWith(inside))) continue;
      if (after !== undefined && !after.startsWith(inside) && byteOrder(inside, after) < 0) continue;
      const child = await tree.openChildDir(dir, entry.name, path, false).catch((error: unknown) => {
        if (error instanceof ChatPathRefused) return null;
        throw error;
      });
      if (!child) continue;
      try {
        if (await listIn(tree, child, inside, state)) return true;
      } finally {
        await child.handle.close();
      }
      continue;
    }
    if (!path.startsWith(prefix) || (after !== undefined && byteOrder(path, after) <= 0)) continue;
    const stats = await unless(['ENOENT'], () => lstat(`${dir.path}/${entry.name}`, { bigint: true }));
    if (!stats?.isFile()) continue;
    if (state.items.length >= limit) {
      state.more = true;
      return true;
    }
    state.items.push(infoOf(path, stats));
  }
  return false;
}

/** Adds the sizes of the regular files under `dir` (at `depth`) to `state`, within its bounds. */
export async function measure(
  tree: NoFollowTree,
  dir: OpenDir,
  depth: number,
  state: MeasureState,
): Promise<void> {
  const { entries, cut } = await tree.entriesOf(dir, () => state.left-- > 0);
  if (cut) state.complete = false;
  const files = entries.filter((entry) => entry.kind === 'file');
  for (let at = 0; at < files.length; at += MEASURE_PARALLEL) {
    const sizes = await Promise.all(
      files.slice(at, at + MEASURE_PARALLEL).map(async (entry) => {
        const stats = await unless(['ENOENT'], () => lstat(`${dir.path}/${entry.name}`));
        return stats?.isFile() ? stats.size : 0;
      }),
    );
    state.bytes += sizes.reduce((total, size) => total + size, 0);
  }
  for (const entry of entries) {
    if (entry.kind !== 'directory') continue;
    if (state.left <= 0 || depth + 1 >= MEASURE_MAX_DEPTH) {
      state.complete = false;
      continue;
    }
    const child = await tree.openChildDir(dir, entry.name, entry.name, false).catch((error: unknown) => {
      if (error instanceof ChatPathRefused) return null;
      throw error;
    });
    if (!child) continue;
    try {
      await measure(tree, child, depth + 1, state);
    } finally {
      await child.handle.close();
    }
  }
}

/** Removes everything in `dir` (at `depth` below `root`) without following a link. */
export async function clear(tree: NoFollowTree, dir: OpenDir, root: OpenDir, depth: number): Promise<void> {
  // An agent may have made a directory read-only: its owner makes it writable again, through the
  // open handle (never a path, so no link is followed).
  await dir.handle.chmod(0o700).catch(() => undefined);
  let stalled = 0;
  for (let pass = 0; pass < PURGE_MAX_PASSES; pass += 1) {
    let read = 0;
    const { entries } = await tree.entriesOf(dir, () => read++ < PURGE_BATCH);
    if (entries.length === 0) return;
    let removed = 0;
    for (const entry of entries) if (await removeEntry(tree, dir, entry, root, depth)) removed += 1;
    stalled = removed === 0 ? stalled + 1 : 0;
    if (stalled === 3) throw new Error('entries of the chat directory could not be removed');
  }
  throw new Error('the chat directory kept growing while it was removed');
}

/**
 * Removes one entry of `dir`; false when it changed kind since it was read (the next pass of
 * `clear` reads it again).
 */
async function removeEntry(
  tree: NoFollowTree,
  dir: OpenDir,
  entry: Entry,
  root: OpenDir,
  depth: number,
): Promise<boolean> {
  const path = `${dir.path}/${entry.name}`;
  if (entry.kind !== 'directory') return await gone(() => unlink(path));
  if (depth + 1 >= PURGE_MAX_DEPTH) {
    // Moving a link moves the link itself; the root's clear reads it again.
    const moved = `${root.path}/${TEMPORARY_PREFIX}purge-${randomBytes(12).toString('hex')}`;
    return await gone(() => rename(path, moved));
  }
  const child = await tree.openChildDir(dir, entry.name, entry.name, false).catch((error: unknown) => {
    if (error instanceof ChatPathRefused) return 'replaced' as const;
    throw error;
  });
  if (child === 'replaced') return await gone(() => unlink(path));
  if (!child) return true;
  try {
    await clear(tree, child, root, depth + 1);
  } finally {
    await child.handle.close();
  }
  return await gone(() => rmdir(path));
}

/** Runs a removal: true when the entry is gone, false when it changed kind (or filled) meanwhile. */
async function gone(remove: () => Promise<void>): Promise<boolean> {
  try {
    await remove();
    return true;
  } catch (error) {
    const code = codeOf(error) ?? '';
    if (code === 'ENOENT') return true;
    if (['EISDIR', 'EPERM', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST'].includes(code)) return false;
    throw error;
  }
}

/** Where a listing stands: the page so far and the entries it may still read. */
export interface ListState {
  readonly query: ListFilesQuery;
  readonly items: ChatFileInfo[];
  more: boolean;
  /** Entries the walk may still read. */
  left: number;
}

/** Where a measurement stands. */
export interface MeasureState {
  bytes: number;
  left: number;
  complete: boolean;
}
