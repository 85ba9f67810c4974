import { randomUUID } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { PosixChatFiles } from '../../src/adapters/fs/chat-tree.js';
import type { ChatKey } from '../../src/core/model.js';

/** A data folder with `chats/` for the adapter and `outside/` holding sentinel files it must never touch. */
export interface TreeFixture {
  readonly base: string;
  readonly outside: string;
  readonly files: PosixChatFiles;
  /** The text of every sentinel file: a read that answers it has left the chat. */
  readonly sentinel: string;
  rootOf(chat: ChatKey): string;
  /** A new chat (its directory is not made). */
  chat(): ChatKey;
}

/** Makes the fixture under the OS temporary folder; remove `base` when done. */
export function makeTreeFixture(): TreeFixture {
  const base = mkdtempSync(join(tmpdir(), 'chat-tree-'));
  const outside = join(base, 'outside');
  const sentinel = `SENTINEL-${randomUUID()}`;
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), sentinel);
  writeFileSync(join(outside, 'sub', 'deep-secret.txt'), sentinel);
  const rootOf = (chat: ChatKey) => join(base, 'chats', chat.tenant, chat.chatId);
  return {
    base,
    outside,
    sentinel,
    files: new PosixChatFiles({ rootOf }),
    rootOf,
    chat: () => ({ tenant: 'tenant-a', chatId: randomUUID() }),
  };
}

/**
 * Everything under `dir` without following links: kind, size, mtime, content or link target;
 * `except` (a path below `dir`) is left out, and so are the times of its parents (it changes them).
 */
export function snapshot(dir: string, except?: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (path: string, shown: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const at = `${shown}${name}`;
      if (full === except) continue;
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) found[at] = `link ${readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        const parent = except?.startsWith(`${full}${sep}`) ?? false;
        found[at] = `dir ${stats.mode.toString(8)} ${parent ? '' : stats.mtimeMs}`;
        walk(full, `${at}/`);
      } else {
        found[at] = `file ${stats.size} ${stats.mtimeMs} ${readFileSync(full, 'utf8')}`;
      }
    }
  };
  walk(dir, '');
  return found;
}
