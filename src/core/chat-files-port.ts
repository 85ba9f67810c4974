/**
 * The port of chat storage: each chat's directory tree, reachable with or without a sandbox. Local
 * mode keeps the trees under the data folder, through a POSIX implementation
 * (src/adapters/fs/chat-tree.ts) that works over any root, an EFS mount included.
 *
 * Paths here are already checked (`checkChatPath`): relative, normalised, `/`-separated, never
 * `history.md` unless the history routes ask. The implementation must still never follow a
 * symbolic link anywhere below the chat's root (a live agent can plant or swap one at any time) and
 * must never leave the chat's directory.
 */
import type { ChatKey } from './model.js';

/** What the chat's directory holds at one path. */
export interface ChatFileInfo {
  /** Relative to the chat's directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** Epoch ms of the last modification. */
  readonly modifiedAt: number;
  /** A strong validator of the content: changes whenever the file is replaced or written. */
  readonly etag: string;
}

/** Bytes `start` to `end` inclusive (HTTP `Range` form). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface ChatFilesPage {
  /** Regular files only, in byte order of their paths. */
  readonly items: readonly ChatFileInfo[];
  /** The path to continue after (exclusive), or null at the end. */
  readonly next: string | null;
}

export interface ListFilesQuery {
  /** Only paths that start with this text. */
  readonly prefix?: string;
  /** Only paths after this one (byte order). */
  readonly after?: string;
  readonly limit: number;
}

/** Thrown by `write` with `exclusive` when the path exists. */
export class ChatFileExists extends Error {
  constructor(readonly path: string) {
    super(`${path} exists`);
    this.name = 'ChatFileExists';
  }
}

/**
 * Thrown when a path cannot be used as the caller meant: a component is a symbolic link, a
 * directory stands where a file is asked for (or the reverse), or the tree is deeper than allowed.
 * `message` is safe to show the caller.
 */
export class ChatPathRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatPathRefused';
  }
}

export interface ChatFiles {
  /** The chat's regular files (directories walked, links and other types skipped, never followed). */
  list(chat: ChatKey, query: ListFilesQuery): Promise<ChatFilesPage>;
  /** The file's info, or null when there is none. */
  stat(chat: ChatKey, path: string): Promise<ChatFileInfo | null>;
  /** The file's bytes (`range`: only those), or null when there is none. */
  read(
    chat: ChatKey,
    path: string,
    range?: ByteRange,
  ): Promise<{ readonly info: ChatFileInfo; readonly body: Buffer } | null>;
  /**
   * Writes the whole file atomically (a temporary file in the same directory, then a rename; a
   * reader sees the old or the new content, never a mix), creating missing directories. With
   * `exclusive`, throws `ChatFileExists` instead of replacing a file.
   */
  write(
    chat: ChatKey,
    path: string,
    body: Buffer,
    options: { readonly exclusive: boolean },
  ): Promise<{ readonly info: ChatFileInfo; readonly created: boolean }>;
  /** Appends to the file (creating it), in one write. */
  append(chat: ChatKey, path: string, body: Buffer): Promise<ChatFileInfo>;
  /** Removes the file; false when there was none. Empty parent directories stay. */
  remove(chat: ChatKey, path: string): Promise<boolean>;
  /** Bytes of every regular file of the chat, by a walk that stops after `maxEntries` entries. */
  usage(chat: ChatKey, maxEntries: number): Promise<{ readonly bytes: number; readonly complete: boolean }>;
  /** Creates the chat's directory and an empty `history.md` if they are missing. */
  ensureLayout(chat: ChatKey): Promise<void>;
  /** Removes the chat's directory and everything in it (links removed, never followed); idempotent. */
  purge(chat: ChatKey): Promise<void>;
}

/** Whose bytes a chat's files count against: its owner's, or the tenant's unowned chats'. */
export type StorageScope =
  | { readonly kind: 'owner'; readonly tenant: string; readonly ownerId: string }
  | { readonly kind: 'unowned'; readonly tenant: string };

/**
 * The last measured size of each chat of a scope. Measured by the API on every write through it
 * (the chat written) and when usage is asked for; what a sandbox writes counts from the next
 * measurement.
 */
export interface StorageUsageStore {
  /** Chat id -> bytes at its last measurement. */
  get(scope: StorageScope): Promise<Readonly<Record<string, number>>>;
  /** Records the chat's measured bytes. */
  set(scope: StorageScope, chatId: string, bytes: number): Promise<void>;
  /** Forgets the chat in `scope` (it moved to its owner's scope); nothing when it is not there. */
  remove(scope: StorageScope, chatId: string): Promise<void>;
}

/** Bytes an owner's chats may hold together unless the operator sets another figure: 1 GiB. */
export const DEFAULT_OWNER_STORAGE_BYTES = 1024 * 1024 * 1024;

/** Chat storage's settings. */
export interface StorageConfig {
  /** The largest file one request may write (bytes). */
  readonly maxFileBytes: number;
  /** Bytes an owner's chats may hold together (the tenant's unowned chats share one such budget). */
  readonly ownerMaxBytes: number;
}

/**
 * Purges of chats: a mark on the chat's record while one is under way (creates and writes refuse
 * the chat meanwhile), found again through the due index if the purge stops half-way.
 */
export interface ChatPurges {
  /** Marks the chat purging from `now` (or answers the mark already there), due at `dueAt`. */
  mark(key: ChatKey, now: number, dueAt: number): Promise<number>;
  /** Takes the mark `purgingAt` away again (the purge was given up). */
  cancel(key: ChatKey, purgingAt: number): Promise<void>;
  /** Marks due at or before `dueBy`. */
  listDue(dueBy: number): AsyncIterable<{ readonly key: ChatKey; readonly purgingAt: number }>;
  /**
   * Fences the chat's session item for the purge marked at `purgingAt`: only a final, settled one
   * (else it throws: the purge waits), marked and its version bumped, so a create that read it
   * before can no longer claim over it. A chat without a session item needs no fence: its first
   * claim checks the chat record's mark in the same transaction (`SessionStore.claim`).
   */
  fenceSession(key: ChatKey, purgingAt: number): Promise<void>;
  /** Removes the session item this purge fenced (or none); throws if another stands there. */
  removeSession(key: ChatKey, purgingAt: number): Promise<void>;
  /** Whether the chat's session item is fenced for the purge marked at `purgingAt`, or absent. */
  isFenced(key: ChatKey, purgingAt: number): Promise<boolean>;
  /** Removes the chat's record (owner and mark) if the mark is still `purgingAt`: the purge is done. */
  finish(key: ChatKey, purgingAt: number): Promise<void>;
}
