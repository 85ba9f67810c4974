/**
 * Opening paths below a chat's root without ever following a symbolic link: a live agent owns the
 * tree and can plant or swap a link at any moment, so no path below the root is resolved by
 * following one, and nothing is checked first and opened later by name.
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
 */
import { type BigIntStats, constants, type Dirent, type Stats, statSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, opendir, realpath } from 'node:fs/promises';
import { ChatPathRefused } from '../../core/chat-files-port.js';
import { chatPathViolation } from '../../core/chat-paths.js';
import type { ChatKey } from '../../core/model.js';

/** macOS 11+: fail with ELOOP if any component of the path is a symbolic link. */
const O_NOFOLLOW_ANY = 'O_NOFOLLOW_ANY' in constants ? Number(constants.O_NOFOLLOW_ANY) : 0x20000000;
const { O_DIRECTORY, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = constants;
// A special file opened by mistake must not block (a FIFO) or become a terminal.
export const SPECIAL_SAFE = O_NONBLOCK | O_NOCTTY;
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
export interface OpenDir {
  readonly handle: FileHandle;
  readonly path: string;
}

/** What a directory entry is, as the walks tell them apart. */
export type EntryKind = 'file' | 'directory' | 'other';

/** One entry of a directory, by name and kind. */
export interface Entry {
  readonly name: string;
  readonly kind: EntryKind;
}

/** The `code` of a system error. */
export const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

/** Runs `call`, answering null when it fails with one of `codes`. */
export async function unless<T>(codes: readonly string[], call: () => Promise<T>): Promise<T | null> {
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
export function refusedAs(shown: string, stats: Stats | BigIntStats | null, wanted: 'file' | 'directory') {
  return new ChatPathRefused(`'${shown}' is ${described(stats)}, not a ${wanted}`);
}

/** The refusal of `path` after an open failed: lstat says what is there, for the message only. */
export async function refusal(
  path: string,
  shown: string,
  wanted: 'file' | 'directory',
): Promise<ChatPathRefused> {
  return refusedAs(shown, await lstat(path).catch(() => null), wanted);
}

/**
 * The chats' directories, opened no-follow: the root of a chat (trusted: the control plane names
 * it), and every directory and file below it one component at a time from the one before.
 */
export class NoFollowTree {
  /** Flags added to every open below the root. */
  readonly noFollow: number;
  private readonly resolution: Resolution;

  /** `rootOf` gives the absolute directory of a chat; `dirMode` is the mode of directories made. */
  constructor(
    readonly rootOf: (chat: ChatKey) => string,
    readonly dirMode: number,
  ) {
    this.resolution = resolutionHere();
    this.noFollow = this.resolution.noFollow;
  }

  /** The chat's root, opened no-follow; null when it is missing and `create` is false. */
  async openRoot(chat: ChatKey, create: true): Promise<OpenDir>;
  async openRoot(chat: ChatKey, create: boolean): Promise<OpenDir | null>;
  async openRoot(chat: ChatKey, create: boolean): Promise<OpenDir | null> {
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
  async openParent(chat: ChatKey, path: string, create: true): Promise<{ dir: OpenDir; name: string }>;
  async openParent(
    chat: ChatKey,
    path: string,
    create: boolean,
  ): Promise<{ dir: OpenDir; name: string } | null>;
  async openParent(
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
  async openChildDir(dir: OpenDir, name: string, shown: string, create: boolean): Promise<OpenDir | null> {
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
  async openFile(chat: ChatKey, path: string): Promise<{ handle: FileHandle; stats: BigIntStats } | null> {
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

  /** The entries of `dir`, read while `take()` allows one more; `cut` when it stopped the read. */
  async entriesOf(dir: OpenDir, take: () => boolean): Promise<{ entries: Entry[]; cut: boolean }> {
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
}

/** `path`'s segments, refused again here (defence in depth) as the routes refuse them. */
export function segmentsOf(path: string): string[] {
  const violation = chatPathViolation(path, { history: true });
  if (violation !== null) throw new ChatPathRefused(`the path ${violation}`);
  if (LONE_SURROGATE.test(path)) throw new ChatPathRefused('the path must be valid Unicode');
  return path.split('/');
}
