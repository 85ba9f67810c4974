/**
 * `ChatFiles` over a POSIX directory tree: one directory per chat (local mode under the data folder,
 * AWS on the EFS mount). A live agent owns the tree and can plant or swap a symbolic link at any
 * moment, so no path below the chat's root is ever resolved by following a link, and nothing is
 * checked first and opened later by name.
 *
 * Node has no `openat`, so each platform resolves a path its own way:
 * - Linux: component by component, each opened with `O_NOFOLLOW` through `/proc/self/fd/<fd>/<name>`,
 *   where `<fd>` is the directory opened one step before. The magic link names that open directory
 *   itself, so a name swapped in the tree cannot redirect it; every other call (`lstat`, `rename`,
 *   `link`, `unlink`, `mkdir`, `rmdir`, `opendir`) takes the same fd-relative paths.
 * - macOS: the whole path is opened with `O_NOFOLLOW_ANY` (macOS 11+), which refuses a link in any
 *   component, from the real path of the root. Calls that take no open flags resolve the path's
 *   directories again, so a swap in that short window can redirect them; local mode on macOS runs
 *   the agent as a host process of the same user, which the window gives nothing more than it has.
 * - Anywhere else the constructor throws.
 *
 * Writes go to a temporary file (`.sandbox-tmp-*`) in the target's directory, then `rename` onto
 * the name (`link` for an exclusive create, which fails rather than replaces).
 */
import { randomBytes } from 'node:crypto';
import { type BigIntStats, constants, type Dirent, type Stats, statSync } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  opendir,
  realpath,
  rename,
  rmdir,
  unlink,
} from 'node:fs/promises';
import {
  type ByteRange,
  ChatFileExists,
  type ChatFileInfo,
  type ChatFiles,
  type ChatFilesPage,
  ChatPathRefused,
  type ListFilesQuery,
} from '../../core/chat-files-port.js';
import {
  CHAT_PATH_LIMITS,
  chatPathViolation,
  HISTORY_FILE,
  TEMPORARY_PREFIX,
} from '../../core/chat-paths.js';
import type { ChatKey } from '../../core/model.js';

/** Entries `list` reads at most; a chat with more is refused rather than listed in part. */
export const LIST_MAX_ENTRIES = 100_000;
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

/** macOS 11+: fail with ELOOP if any component of the path is a symbolic link. */
const O_NOFOLLOW_ANY = 'O_NOFOLLOW_ANY' in constants ? Number(constants.O_NOFOLLOW_ANY) : 0x20000000;
const { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } =
  constants;
// A special file opened by mistake must not block (a FIFO) or become a terminal.
const SPECIAL_SAFE = O_NONBLOCK | O_NOCTTY;
// A lone surrogate would be written as U+FFFD: a second spelling of another name.
const LONE_SURROGATE = /\p{Cs}/u;

/** How paths below the root are resolved without following links on this platform. */
interface Resolution {
  /** Flags added to every open below the root. */
  readonly noFollow: number;
  /** The path the root is opened at. */
  rootPath(root: string): Promise<string>;
  /** A path naming the open directory `handle` (opened at `opened`) for calls that take a path. */
  pathOf(handle: FileHandle, opened: string): string;
}

const LINUX: Resolution = {
  noFollow: O_NOFOLLOW,
  rootPath: async (root) => root,
  pathOf: (handle) => `/proc/self/fd/${handle.fd}`,
};

const MACOS: Resolution = {
  noFollow: O_NOFOLLOW | O_NOFOLLOW_ANY,
  // The root is trusted but its path may have links (/var -> /private/var) that O_NOFOLLOW_ANY refuses.
  rootPath: (root) => realpath(root),
  pathOf: (_handle, opened) => opened,
};

function resolutionHere(): Resolution {
  if (process.platform === 'darwin') return MACOS;
  if (process.platform !== 'linux') {
    throw new Error(`PosixChatFiles cannot resolve paths without following links on ${process.platform}`);
  }
  let procFds = false;
  try {
    procFds = statSync('/proc/self/fd').isDirectory();
  } catch {
    // Reported below.
  }
  if (!procFds) throw new Error('PosixChatFiles needs /proc mounted: it opens paths through /proc/self/fd');
  return LINUX;
}

/** An open directory and a path that names it. */
interface OpenDir {
  readonly handle: FileHandle;
  readonly path: string;
}

type EntryKind = 'file' | 'directory' | 'other';

interface Entry {
  readonly name: string;
  readonly kind: EntryKind;
}

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

/** Runs `call`, answering null when it fails with one of `codes`. */
async function unless<T>(codes: readonly string[], call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (codes.includes(codeOf(error) ?? '')) return null;
    throw error;
  }
}

/** What a directory entry is, by its type or (a file system that gives none) by lstat. */
async function kindOf(dirent: Dirent, path: string): Promise<EntryKind> {
  const typed = (entry: Dirent | Stats) => {
    if (entry.isFile()) return 'file';
    if (entry.isDirectory()) return 'directory';
    const known = [entry.isSymbolicLink(), entry.isFIFO(), entry.isSocket(), entry.isBlockDevice()];
    return known.includes(true) || entry.isCharacterDevice() ? 'other' : null;
  };
  const kind = typed(dirent);
  if (kind) return kind;
  const stats = await unless(['ENOENT'], () => lstat(path));
  return (stats && typed(stats)) ?? 'other';
}

function described(stats: Stats | BigIntStats | null): string {
  if (!stats) return 'gone';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  return stats.isFile() ? 'a file' : 'a special file';
}

/** The refusal of `shown` (the caller's own path) as something other than a `wanted`. */
function refusedAs(shown: string, stats: Stats | BigIntStats | null, wanted: 'file' | 'directory') {
  return new ChatPathRefused(`'${shown}' is ${described(stats)}, not a ${wanted}`);
}

/** The refusal of `path` after an open failed: lstat says what is there, for the message only. */
async function refusal(path: string, shown: string, wanted: 'file' | 'directory'): Promise<ChatPathRefused> {
  return refusedAs(shown, await lstat(path).catch(() => null), wanted);
}

/** The port's view of a regular file; the etag changes with the inode (a rename), size or mtime. */
function infoOf(path: string, stats: BigIntStats): ChatFileInfo {
  return {
    path,
    size: Number(stats.size),
    modifiedAt: Number(stats.mtimeMs),
    etag: `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`,
  };
}

/** Byte order of UTF-8, which is code point order. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function writeAll(handle: FileHandle, body: Buffer): Promise<void> {
  let done = 0;
  do {
    const { bytesWritten } = await handle.write(body, done, body.length - done, null);
    done += bytesWritten;
  } while (done < body.length);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, length));
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** `ChatFiles` over a directory per chat, never following a symbolic link below its root. */
export class PosixChatFiles implements ChatFiles {
  private readonly rootOf: (chat: ChatKey) => string;
  private readonly dirMode: number;
  private readonly fileMode: number;
  private readonly resolution: Resolution;

  /**
   * `rootOf` gives the absolute directory of a chat (trusted: the control plane makes it). `mode`
   * is the permission of the directories created (0o700 by default); files get it without the
   * execute bits.
   */
  constructor(options: { rootOf: (chat: ChatKey) => string; mode?: number }) {
    this.resolution = resolutionHere();
    this.rootOf = options.rootOf;
    this.dirMode = (options.mode ?? 0o700) & 0o777;
    this.fileMode = this.dirMode & 0o666;
  }

  async list(chat: ChatKey, query: ListFilesQuery): Promise<ChatFilesPage> {
    const root = await this.openRoot(chat, false);
    if (!root) return { items: [], next: null };
    const state: ListState = { query, items: [], more: false, left: LIST_MAX_ENTRIES };
    try {
      await this.listIn(root, '', state);
    } finally {
      await root.handle.close();
    }
    const last = state.items.at(-1);
    return { items: state.items, next: state.more && last ? last.path : null };
  }

  async stat(chat: ChatKey, path: string): Promise<ChatFileInfo | null> {
    const opened = await this.openFile(chat, path);
    if (!opened) return null;
    await opened.handle.close();
    return infoOf(path, opened.stats);
  }

  async read(
    chat: ChatKey,
    path: string,
    range?: ByteRange,
  ): Promise<{ readonly info: ChatFileInfo; readonly body: Buffer } | null> {
    const opened = await this.openFile(chat, path);
    if (!opened) return null;
    try {
      const info = infoOf(path, opened.stats);
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? info.size - 1, info.size - 1);
      return { info, body: await readAt(opened.handle, start, end - start + 1) };
    } finally {
      await opened.handle.close();
    }
  }

  async write(
    chat: ChatKey,
    path: string,
    body: Buffer,
    options: { readonly exclusive: boolean },
  ): Promise<{ readonly info: ChatFileInfo; readonly created: boolean }> {
    const { dir, name } = await this.openParent(chat, path, true);
    try {
      return await this.writeIn(dir, name, path, body, options.exclusive);
    } finally {
      await dir.handle.close();
    }
  }

  async append(chat: ChatKey, path: string, body: Buffer): Promise<ChatFileInfo> {
    const { dir, name } = await this.openParent(chat, path, true);
    try {
      const target = `${dir.path}/${name}`;
      const flags = O_WRONLY | O_APPEND | O_CREAT | SPECIAL_SAFE | this.resolution.noFollow;
      const handle = await open(target, flags, this.fileMode).catch(async (error: unknown) => {
        if (['ELOOP', 'EISDIR', 'ENXIO', 'ENOTDIR'].includes(codeOf(error) ?? '')) {
          throw await refusal(target, path, 'file');
        }
        throw error;
      });
      try {
        const before = await handle.stat();
        if (!before.isFile()) throw refusedAs(path, before, 'file');
        await writeAll(handle, body);
        return infoOf(path, await handle.stat({ bigint: true }));
      } finally {
        await handle.close();
      }
    } finally {
      await dir.handle.close();
    }
  }

  async remove(chat: ChatKey, path: string): Promise<boolean> {
    const found = await this.openParent(chat, path, false);
    if (!found) return false;
    const { dir, name } = found;
    try {
      const target = `${dir.path}/${name}`;
      const stats = await unless(['ENOENT'], () => lstat(target));
      if (!stats) return false;
      if (!stats.isFile()) throw refusedAs(path, stats, 'file');
      try {
        await unlink(target);
        return true;
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOENT') return false;
        // Replaced by a directory since the lstat.
        if (code === 'EISDIR' || code === 'EPERM') throw await refusal(target, path, 'file');
        throw error;
      }
    } finally {
      await dir.handle.close();
    }
  }

  async usage(
    chat: ChatKey,
    maxEntries: number,
  ): Promise<{ readonly bytes: number; readonly complete: boolean }> {
    const root = await this.openRoot(chat, false);
    if (!root) return { bytes: 0, complete: true };
    const state: MeasureState = { bytes: 0, left: maxEntries, complete: true };
    try {
      await this.measure(root, 0, state);
    } finally {
      await root.handle.close();
    }
    return { bytes: state.bytes, complete: state.complete };
  }

  async ensureLayout(chat: ChatKey): Promise<void> {
    const root = await this.openRoot(chat, true);
    try {
      const flags = O_WRONLY | O_CREAT | O_EXCL | this.resolution.noFollow;
      const history = `${root.path}/${HISTORY_FILE}`;
      const created = await unless(['EEXIST'], () => open(history, flags, this.fileMode));
      await created?.close();
    } finally {
      await root.handle.close();
    }
  }

  async purge(chat: ChatKey): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const root = await this.openRoot(chat, false);
      if (!root) return;
      try {
        await this.clear(root, root, 0);
      } finally {
        await root.handle.close();
      }
      // The root itself is trusted: removed by its own path. Written to meanwhile: clear again.
      try {
        await rmdir(this.rootOf(chat));
        return;
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOENT') return;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
    }
    throw new Error('the chat directory kept changing while it was removed');
  }

  /** The chat's root, opened no-follow; null when it is missing and `create` is false. */
  private async openRoot(chat: ChatKey, create: true): Promise<OpenDir>;
  private async openRoot(chat: ChatKey, create: boolean): Promise<OpenDir | null>;
  private async openRoot(chat: ChatKey, create: boolean): Promise<OpenDir | null> {
    const root = this.rootOf(chat);
    if (create) await mkdir(root, { recursive: true, mode: this.dirMode });
    const flags = O_RDONLY | O_DIRECTORY | this.resolution.noFollow;
    let path: string;
    let handle: FileHandle;
    try {
      path = await this.resolution.rootPath(root);
      handle = await open(path, flags);
    } catch (error) {
      const code = codeOf(error);
      if (code === 'ENOENT' && !create) return null;
      if (code === 'ENOTDIR' || code === 'ELOOP') throw new Error('the chat directory is not a directory');
      throw error;
    }
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!stats.isDirectory()) {
      await handle.close();
      throw new Error('the chat directory is not a directory');
    }
    return { handle, path: this.resolution.pathOf(handle, path) };
  }

  /**
   * The directory holding `path`'s last segment, each directory opened no-follow from the one
   * before (created when missing and `create`), and that segment; null when one is missing.
   */
  private async openParent(
    chat: ChatKey,
    path: string,
    create: true,
  ): Promise<{ dir: OpenDir; name: string }>;
  private async openParent(
    chat: ChatKey,
    path: string,
    create: boolean,
  ): Promise<{ dir: OpenDir; name: string } | null>;
  private async openParent(
    chat: ChatKey,
    path: string,
    create: boolean,
  ): Promise<{ dir: OpenDir; name: string } | null> {
    const segments = segmentsOf(path);
    const name = segments.pop()!;
    let dir = await this.openRoot(chat, create);
    for (const [index, segment] of segments.entries()) {
      if (!dir) return null;
      const parent = dir;
      try {
        dir = await this.openChildDir(parent, segment, segments.slice(0, index + 1).join('/'), create);
      } finally {
        await parent.handle.close();
      }
    }
    return dir ? { dir, name } : null;
  }

  /** `name` in `dir` opened as a directory without following a link; null when missing. */
  private async openChildDir(
    dir: OpenDir,
    name: string,
    shown: string,
    create: boolean,
  ): Promise<OpenDir | null> {
    const path = `${dir.path}/${name}`;
    const flags = O_RDONLY | O_DIRECTORY | this.resolution.noFollow;
    // A directory made here can be removed again before it is opened: a few tries, then the error.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const handle = await open(path, flags);
        return { handle, path: this.resolution.pathOf(handle, path) };
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOTDIR' || code === 'ELOOP') throw await refusal(path, shown, 'directory');
        // The agent owns the tree and may lock a directory: that directory is out of reach, no more.
        if (code === 'EACCES' || code === 'EPERM') throw new ChatPathRefused(`'${shown}' is not readable`);
        if (code !== 'ENOENT' || attempt === 3) throw error;
        if (!create) return null;
      }
      // mkdir never follows a link at the name (EEXIST); the open above then refuses it.
      await unless(['EEXIST'], () => mkdir(path, this.dirMode));
    }
  }

  /** The regular file at `path`, opened no-follow, with its fstat; null when missing. */
  private async openFile(
    chat: ChatKey,
    path: string,
  ): Promise<{ handle: FileHandle; stats: BigIntStats } | null> {
    const found = await this.openParent(chat, path, false);
    if (!found) return null;
    const { dir, name } = found;
    try {
      const target = `${dir.path}/${name}`;
      let handle: FileHandle;
      try {
        handle = await open(target, O_RDONLY | SPECIAL_SAFE | this.resolution.noFollow);
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOENT') return null;
        if (code === 'ELOOP' || code === 'ENXIO' || code === 'ENOTDIR')
          throw await refusal(target, path, 'file');
        if (code === 'EACCES' || code === 'EPERM') throw new ChatPathRefused(`'${path}' is not readable`);
        throw error;
      }
      try {
        const stats = await handle.stat({ bigint: true });
        if (!stats.isFile()) throw refusedAs(path, stats, 'file');
        return { handle, stats };
      } catch (error) {
        await handle.close();
        throw error;
      }
    } finally {
      await dir.handle.close();
    }
  }

  private async writeIn(dir: OpenDir, name: string, shown: string, body: Buffer, exclusive: boolean) {
    const target = `${dir.path}/${name}`;
    const temporary = `${dir.path}/${TEMPORARY_PREFIX}${randomBytes(12).toString('hex')}`;
    const flags = O_WRONLY | O_CREAT | O_EXCL | this.resolution.noFollow;
    const handle = await open(temporary, flags, this.fileMode);
    let renamed = false;
    try {
      await writeAll(handle, body);
      await handle.sync();
      let created = true;
      if (exclusive) {
        // link fails with EEXIST instead of replacing: the create is atomic.
        await link(temporary, target).catch(async (error: unknown) => {
          if (codeOf(error) !== 'EEXIST') throw error;
          const [ours, there] = await Promise.all([handle.stat(), lstat(target).catch(() => null)]);
          // NFS can answer EEXIST to a retransmitted link that did succeed: then the name is ours.
          if (there?.ino === ours.ino && there.dev === ours.dev) return;
          throw there && !there.isFile() ? refusedAs(shown, there, 'file') : new ChatFileExists(shown);
        });
      } else {
        // rename replaces a link itself, never its target; the lstat is for the caller's error.
        const before = await unless(['ENOENT'], () => lstat(target));
        if (before && !before.isFile()) throw refusedAs(shown, before, 'file');
        created = before === null;
        await rename(temporary, target).catch(async (error: unknown) => {
          const code = codeOf(error);
          if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
            throw await refusal(target, shown, 'file');
          }
          throw error;
        });
        renamed = true;
      }
      await dir.handle.sync();
      return { info: infoOf(shown, await handle.stat({ bigint: true })), created };
    } finally {
      // The temporary name is ours alone; a failure to remove it must not hide the outcome.
      if (!renamed) await unlink(temporary).catch(() => undefined);
      await handle.close();
    }
  }

  /** The entries of `dir`, read while `take()` allows one more; `cut` when it stopped the read. */
  private async entriesOf(dir: OpenDir, take: () => boolean): Promise<{ entries: Entry[]; cut: boolean }> {
    const entries: Entry[] = [];
    const stream = await opendir(dir.path, { bufferSize: 128 });
    try {
      for (let dirent = await stream.read(); dirent; dirent = await stream.read()) {
        if (!take()) return { entries, cut: true };
        entries.push({ name: dirent.name, kind: await kindOf(dirent, `${dir.path}/${dirent.name}`) });
      }
      return { entries, cut: false };
    } finally {
      await stream.close();
    }
  }

  /**
   * Lists `dir` (at `base`, '' or ending in /) into `state` in byte order: children sorted with a /
   * after directory names visit the paths in the order of their full text. Answers true to stop.
   */
  private async listIn(dir: OpenDir, base: string, state: ListState): Promise<boolean> {
    const { entries, cut } = await this.entriesOf(dir, () => state.left-- > 0);
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
        const child = await this.openChildDir(dir, entry.name, path, false).catch((error: unknown) => {
          if (error instanceof ChatPathRefused) return null;
          throw error;
        });
        if (!child) continue;
        try {
          if (await this.listIn(child, inside, state)) return true;
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
  private async measure(dir: OpenDir, depth: number, state: MeasureState): Promise<void> {
    const { entries, cut } = await this.entriesOf(dir, () => state.left-- > 0);
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
      const child = await this.openChildDir(dir, entry.name, entry.name, false).catch((error: unknown) => {
        if (error instanceof ChatPathRefused) return null;
        throw error;
      });
      if (!child) continue;
      try {
        await this.measure(child, depth + 1, state);
      } finally {
        await child.handle.close();
      }
    }
  }

  /** Removes everything in `dir` (at `depth` below `root`) without following a link. */
  private async clear(dir: OpenDir, root: OpenDir, depth: number): Promise<void> {
    // An agent may have made a directory read-only: its owner makes it writable again, through the
    // open handle (never a path, so no link is followed).
    await dir.handle.chmod(0o700).catch(() => undefined);
    let stalled = 0;
    for (let pass = 0; pass < PURGE_MAX_PASSES; pass += 1) {
      let read = 0;
      const { entries } = await this.entriesOf(dir, () => read++ < PURGE_BATCH);
      if (entries.length === 0) return;
      let removed = 0;
      for (const entry of entries) if (await this.removeEntry(dir, entry, root, depth)) removed += 1;
      stalled = removed === 0 ? stalled + 1 : 0;
      if (stalled === 3) throw new Error('entries of the chat directory could not be removed');
    }
    throw new Error('the chat directory kept growing while it was removed');
  }

  /**
   * Removes one entry of `dir`; false when it changed kind since it was read (the next pass of
   * `clear` reads it again).
   */
  private async removeEntry(dir: OpenDir, entry: Entry, root: OpenDir, depth: number): Promise<boolean> {
    const path = `${dir.path}/${entry.name}`;
    if (entry.kind !== 'directory') return await gone(() => unlink(path));
    if (depth + 1 >= PURGE_MAX_DEPTH) {
      // Moving a link moves the link itself; the root's clear reads it again.
      const moved = `${root.path}/${TEMPORARY_PREFIX}purge-${randomBytes(12).toString('hex')}`;
      return await gone(() => rename(path, moved));
    }
    const child = await this.openChildDir(dir, entry.name, entry.name, false).catch((error: unknown) => {
      if (error instanceof ChatPathRefused) return 'replaced' as const;
      throw error;
    });
    if (child === 'replaced') return await gone(() => unlink(path));
    if (!child) return true;
    try {
      await this.clear(child, root, depth + 1);
    } finally {
      await child.handle.close();
    }
    return await gone(() => rmdir(path));
  }
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

interface ListState {
  readonly query: ListFilesQuery;
  readonly items: ChatFileInfo[];
  more: boolean;
  /** Entries the walk may still read. */
  left: number;
}

interface MeasureState {
  bytes: number;
  left: number;
  complete: boolean;
}

/** `path`'s segments, refused again here (defence in depth) as the routes refuse them. */
function segmentsOf(path: string): string[] {
  const violation = chatPathViolation(path, { history: true });
  if (violation !== null) throw new ChatPathRefused(`the path ${violation}`);
  if (LONE_SURROGATE.test(path)) throw new ChatPathRefused('the path must be valid Unicode');
  return path.split('/');
}
