/**
 * `ChatFiles` over a POSIX directory tree: one directory per chat (local mode under the data folder,
 * AWS on the EFS mount). Every path below a chat's root is opened through `NoFollowTree`
 * (./no-follow.ts), which never follows a symbolic link a live agent may plant or swap; the walks
 * (listing, measuring, purging) are in ./tree-walks.ts.
 *
 * Writes go to a temporary file (`.sandbox-tmp-*`) in the target's directory, then `rename` onto
 * the name (`link` for an exclusive create, which fails rather than replaces).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, lstat, open, rename, rmdir, unlink } from 'node:fs/promises';
import {
  type ByteRange,
  ChatFileExists,
  type ChatFileInfo,
  type ChatFiles,
  type ChatFilesPage,
  type ListFilesQuery,
} from '../../core/chat-files-port.js';
import { HISTORY_FILE, TEMPORARY_PREFIX } from '../../core/chat-paths.js';
import type { ChatKey } from '../../core/model.js';
import { codeOf, NoFollowTree, type OpenDir, refusal, refusedAs, SPECIAL_SAFE, unless } from './no-follow.js';
import { clear, infoOf, type ListState, listIn, type MeasureState, measure } from './tree-walks.js';

const { O_APPEND, O_CREAT, O_EXCL, O_WRONLY } = constants;

/** Entries `list` reads at most; a chat with more is refused rather than listed in part. */
export const LIST_MAX_ENTRIES = 100_000;

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
  private readonly tree: NoFollowTree;
  private readonly fileMode: number;

  /**
   * `rootOf` gives the absolute directory of a chat (trusted: the control plane makes it). `mode`
   * is the permission of the directories created (0o700 by default); files get it without the
   * execute bits.
   */
  constructor(options: { rootOf: (chat: ChatKey) => string; mode?: number }) {
    const dirMode = (options.mode ?? 0o700) & 0o777;
    this.tree = new NoFollowTree(options.rootOf, dirMode);
    this.fileMode = dirMode & 0o666;
  }

  async list(chat: ChatKey, query: ListFilesQuery): Promise<ChatFilesPage> {
    const root = await this.tree.openRoot(chat, false);
    if (!root) return { items: [], next: null };
    const state: ListState = { query, items: [], more: false, left: LIST_MAX_ENTRIES };
    try {
      await listIn(this.tree, root, '', state);
    } finally {
      await root.handle.close();
    }
    const last = state.items.at(-1);
    return { items: state.items, next: state.more && last ? last.path : null };
  }

  async stat(chat: ChatKey, path: string): Promise<ChatFileInfo | null> {
    const opened = await this.tree.openFile(chat, path);
    if (!opened) return null;
    await opened.handle.close();
    return infoOf(path, opened.stats);
  }

  async read(
    chat: ChatKey,
    path: string,
    range?: ByteRange,
  ): Promise<{ readonly info: ChatFileInfo; readonly body: Buffer } | null> {
    const opened = await this.tree.openFile(chat, path);
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
    const { dir, name } = await this.tree.openParent(chat, path, true);
    try {
      return await this.writeIn(dir, name, path, body, options.exclusive);
    } finally {
      await dir.handle.close();
    }
  }

  async append(chat: ChatKey, path: string, body: Buffer): Promise<ChatFileInfo> {
    const { dir, name } = await this.tree.openParent(chat, path, true);
    try {
      const target = `${dir.path}/${name}`;
      const flags = O_WRONLY | O_APPEND | O_CREAT | SPECIAL_SAFE | this.tree.noFollow;
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
    const found = await this.tree.openParent(chat, path, false);
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
    const root = await this.tree.openRoot(chat, false);
    if (!root) return { bytes: 0, complete: true };
    const state: MeasureState = { bytes: 0, left: maxEntries, complete: true };
    try {
      await measure(this.tree, root, 0, state);
    } finally {
      await root.handle.close();
    }
    return { bytes: state.bytes, complete: state.complete };
  }

  async ensureLayout(chat: ChatKey): Promise<void> {
    const root = await this.tree.openRoot(chat, true);
    try {
      const flags = O_WRONLY | O_CREAT | O_EXCL | this.tree.noFollow;
      const history = `${root.path}/${HISTORY_FILE}`;
      const created = await unless(['EEXIST'], () => open(history, flags, this.fileMode));
      await created?.close();
    } finally {
      await root.handle.close();
    }
  }

  async purge(chat: ChatKey): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const root = await this.tree.openRoot(chat, false);
      if (!root) return;
      try {
        await clear(this.tree, root, root, 0);
      } finally {
        await root.handle.close();
      }
      // The root itself is trusted: removed by its own path. Written to meanwhile: clear again.
      try {
        await rmdir(this.tree.rootOf(chat));
        return;
      } catch (error) {
        const code = codeOf(error);
        if (code === 'ENOENT') return;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
    }
    throw new Error('the chat directory kept changing while it was removed');
  }

  private async writeIn(dir: OpenDir, name: string, shown: string, body: Buffer, exclusive: boolean) {
    const target = `${dir.path}/${name}`;
    const temporary = `${dir.path}/${TEMPORARY_PREFIX}${randomBytes(12).toString('hex')}`;
    const flags = O_WRONLY | O_CREAT | O_EXCL | this.tree.noFollow;
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
}
