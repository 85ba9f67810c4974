/**
 * Chat storage operations: a chat's files and its `history.md`, with or without a sandbox. Writes
 * through the API are checked against the byte quota of the chat's owner (the tenant's unowned chats
 * share one budget); what a sandbox writes itself is counted at the next measurement, not blocked.
 */
import {
  type ByteRange,
  ChatFileExists,
  type ChatFileInfo,
  type ChatFiles,
  type ChatFilesPage,
  ChatPathRefused,
  type ChatPurges,
  type StorageConfig,
  type StorageScope,
  type StorageUsageStore,
} from './chat-files-port.js';
import { HISTORY_FILE } from './chat-paths.js';
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import type { ChatKey } from './model.js';
import type { ChatRecord } from './quota-ports.js';
import { claimChatOwner } from './quotas.js';

/** Entries a size measurement walks at most; a larger chat counts as measured so far. */
export const MEASURE_MAX_ENTRIES = 100_000;

export interface StorageDeps {
  readonly core: Pick<CoreDeps, 'store' | 'quotas' | 'clock' | 'logger'>;
  readonly files: ChatFiles;
  readonly usage: StorageUsageStore;
  readonly purges: ChatPurges;
  readonly config: StorageConfig;
}

/** A file-system refusal the caller can act on (the agent locked a file or directory). */
function permissionDenied(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

function refused(error: unknown, field = 'path'): never {
  if (permissionDenied(error)) {
    throw new SandboxError('validation_failed', 'The path cannot be used.', {
      errors: [{ path: field, message: 'permission denied in the chat directory' }],
    });
  }
  if (error instanceof ChatPathRefused) {
    throw new SandboxError('validation_failed', 'The path cannot be used.', {
      errors: [{ path: field, message: error.message }],
    });
  }
  throw error;
}

/** Runs a storage call, turning a refused path into 422. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    return refused(error);
  }
}

/** 409 `chat_purging` when the chat record says a purge has begun. */
function refuseWhilePurging(chat: ChatRecord | null): void {
  if (chat?.purgingAt) {
    throw new SandboxError('chat_purging', 'The chat is being purged; it takes no writes until that ends.');
  }
}

/** Whose budget the chat's bytes count against, from its record (read by the caller). */
async function scopeOf(deps: StorageDeps, key: ChatKey, chat: ChatRecord | null): Promise<StorageScope> {
  const ownerId = chat?.ownerId ?? null;
  if (!ownerId) return { kind: 'unowned', tenant: key.tenant };
  // A chat that was unowned when last measured counts for its owner now, and only there.
  await deps.usage.remove({ kind: 'unowned', tenant: key.tenant }, key.chatId);
  return { kind: 'owner', tenant: key.tenant, ownerId };
}

/**
 * Runs writes of one scope one at a time, so two writes cannot both pass the quota check on the
 * same figures. One process serves a local data folder; a host running several would need the
 * reservation in the store instead.
 */
const scopeQueues = new Map<string, Promise<unknown>>();
/** The same, per chat: a write and the end of a purge of one chat never overlap. */
const chatQueues = new Map<string, Promise<unknown>>();

function queued<T>(queues: Map<string, Promise<unknown>>, name: string, work: () => Promise<T>): Promise<T> {
  const before = queues.get(name) ?? Promise.resolve();
  const run = before.then(work, work);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(name, settled);
  return run.finally(() => {
    if (queues.get(name) === settled) queues.delete(name);
  });
}

/** Runs `work` after every write and purge end of the chat queued before it, in this process. */
export function serialisedChat<T>(key: ChatKey, work: () => Promise<T>): Promise<T> {
  return queued(chatQueues, `${key.tenant}\u0000${key.chatId}`, work);
}

function serialised<T>(scope: StorageScope, work: () => Promise<T>): Promise<T> {
  const name = scope.kind === 'owner' ? `${scope.tenant}\u0000${scope.ownerId}` : `${scope.tenant}\u0000`;
  return queued(scopeQueues, name, work);
}

/** Whether the chat exists: it has had a sandbox, has an owner, or has files. */
async function chatExists(deps: StorageDeps, key: ChatKey): Promise<boolean> {
  const [session, chat] = await Promise.all([deps.core.store.get(key), deps.core.quotas.getChat(key)]);
  if (session || chat) return true;
  return (await guarded(() => deps.files.list(key, { limit: 1 }))).items.length > 0;
}

/** The chat's files, a page at a time, and the bytes the chat holds. */
export async function listChatFiles(
  deps: StorageDeps,
  key: ChatKey,
  query: { prefix?: string; after?: string; limit: number },
): Promise<{ page: ChatFilesPage; totalBytes: number }> {
  const page = await guarded(() => deps.files.list(key, query));
  if (page.items.length === 0 && query.after === undefined && !(await chatExists(deps, key))) {
    throw new SandboxError('chat_not_found', 'The chat has no sandbox, owner or files.');
  }
  const measured = await guarded(() => deps.files.usage(key, MEASURE_MAX_ENTRIES));
  // Not while purging: the purge removes the figures, and a list must not bring them back.
  const chat = await deps.core.quotas.getChat(key);
  if (!chat?.purgingAt) await deps.usage.set(await scopeOf(deps, key, chat), key.chatId, measured.bytes);
  return { page, totalBytes: measured.bytes };
}

/** A file's bytes (or a range of them); 404 `chat_file_not_found` when there is none. */
export async function readChatFile(
  deps: StorageDeps,
  key: ChatKey,
  path: string,
  range?: (size: number) => ByteRange | null,
): Promise<{ info: ChatFileInfo; body: Buffer; range: ByteRange | null }> {
  const info = await guarded(() => deps.files.stat(key, path));
  if (!info) throw fileNotFound(path);
  let wanted = range ? range(info.size) : null;
  // One answer carries at most a file's size limit: larger files (an agent may write any) are read
  // in ranges, and a longer range is shortened (its Content-Range says so).
  const most = deps.config.maxFileBytes;
  if (!wanted && info.size > most) {
    throw new SandboxError(
      'payload_too_large',
      `'${path}' has ${info.size} bytes, more than the ${most} one answer carries: read it in ranges (Range: bytes=0-${most - 1}).`,
    );
  }
  if (wanted && wanted.end - wanted.start + 1 > most)
    wanted = { start: wanted.start, end: wanted.start + most - 1 };
  const read = await guarded(() => deps.files.read(key, path, wanted ?? undefined));
  if (!read) throw fileNotFound(path);
  return { info: read.info, body: read.body, range: wanted };
}

function fileNotFound(path: string): SandboxError {
  return new SandboxError('chat_file_not_found', `The chat has no file '${path}'.`);
}

export interface WriteOptions {
  /** `If-None-Match: *`: only create. */
  readonly exclusive: boolean;
  /** `If-Match`: only replace this version. */
  readonly ifMatch?: string;
  /** `If-Match: *`: only replace a file that exists. */
  readonly mustExist?: boolean;
  /** Claims an unowned chat for this owner, as a sandbox create does. */
  readonly ownerId?: string;
  /** Append instead of replace (the history). */
  readonly append?: boolean;
}

/**
 * Writes a file (or appends to the history) after the quota check: the scope's other chats as last
 * measured, plus this chat measured now, less the file replaced, plus the new bytes.
 */
export async function writeChatFile(
  deps: StorageDeps,
  key: ChatKey,
  path: string,
  body: Buffer,
  options: WriteOptions,
): Promise<{ info: ChatFileInfo; created: boolean }> {
  if (options.ownerId) await claimChatOwner(deps.core, key, options.ownerId);
  const chat = await deps.core.quotas.getChat(key);
  refuseWhilePurging(chat);
  const scope = await scopeOf(deps, key, chat);
  return serialised(scope, () =>
    serialisedChat(key, async () => {
      // Read again once its turn comes: a purge marked while this write waited refuses it here.
      refuseWhilePurging(await deps.core.quotas.getChat(key));
      return writeInScope(deps, key, scope, path, body, options);
    }),
  );
}

async function writeInScope(
  deps: StorageDeps,
  key: ChatKey,
  scope: StorageScope,
  path: string,
  body: Buffer,
  options: WriteOptions,
): Promise<{ info: ChatFileInfo; created: boolean }> {
  const { files, config } = deps;
  const [others, here, existing] = await Promise.all([
    deps.usage.get(scope),
    guarded(() => files.usage(key, MEASURE_MAX_ENTRIES)),
    guarded(() => files.stat(key, path)),
  ]);
  if (options.ifMatch !== undefined && existing?.etag !== options.ifMatch) {
    throw new SandboxError('precondition_failed', `'${path}' is not at the version If-Match names.`);
  }
  if (options.mustExist && !existing) {
    throw new SandboxError('precondition_failed', `'${path}' does not exist (If-Match: *).`);
  }
  if (options.exclusive && existing) {
    throw new SandboxError('precondition_failed', `'${path}' exists (If-None-Match: *).`);
  }
  const elsewhere = Object.entries(others)
    .filter(([chatId]) => chatId !== key.chatId)
    .reduce((total, [, bytes]) => total + bytes, 0);
  const after = here.bytes - (options.append ? 0 : (existing?.size ?? 0)) + body.length;
  if (elsewhere + after > config.ownerMaxBytes) {
    throw new SandboxError(
      'workspace_quota_exceeded',
      `The write would make ${scope.kind === 'owner' ? `owner '${scope.ownerId}'` : "the tenant's unowned chats"} hold ${elsewhere + after} bytes, over the limit of ${config.ownerMaxBytes}. Delete files first.`,
      { extra: { quota: { limitBytes: config.ownerMaxBytes, usedBytes: elsewhere + here.bytes } } },
    );
  }
  await guarded(() => files.ensureLayout(key));
  let result: { info: ChatFileInfo; created: boolean };
  try {
    result = options.append
      ? { info: await guarded(() => files.append(key, path, body)), created: existing === null }
      : await guarded(() => files.write(key, path, body, { exclusive: options.exclusive }));
  } catch (error) {
    if (error instanceof ChatFileExists) {
      throw new SandboxError('precondition_failed', `'${path}' exists (If-None-Match: *).`);
    }
    throw error;
  }
  await deps.usage.set(scope, key.chatId, after);
  // Created by this request, also when the layout made an empty history.md just before.
  return { info: result.info, created: result.created || existing === null };
}

/** Removes a file; idempotent. */
export async function removeChatFile(deps: StorageDeps, key: ChatKey, path: string): Promise<boolean> {
  return serialisedChat(key, () => removeInChat(deps, key, path));
}

async function removeInChat(deps: StorageDeps, key: ChatKey, path: string): Promise<boolean> {
  const chat = await deps.core.quotas.getChat(key);
  refuseWhilePurging(chat);
  const removed = await guarded(() => deps.files.remove(key, path));
  if (removed) {
    const measured = await guarded(() => deps.files.usage(key, MEASURE_MAX_ENTRIES));
    await deps.usage.set(await scopeOf(deps, key, chat), key.chatId, measured.bytes);
  }
  return removed;
}

/**
 * The chat's history (created empty with the chat's layout when the chat exists), whole or a range
 * of it, under the same one-answer limit as any file: an agent may append without bound.
 */
export async function readHistory(
  deps: StorageDeps,
  key: ChatKey,
  range?: (size: number) => ByteRange | null,
): Promise<{ info: ChatFileInfo; body: Buffer; range: ByteRange | null }> {
  if (!(await guarded(() => deps.files.stat(key, HISTORY_FILE)))) {
    if (!(await chatExists(deps, key))) {
      throw new SandboxError('chat_not_found', 'The chat has no sandbox, owner or files.');
    }
    // A chat being purged gets no new layout: the purge would leave it behind.
    refuseWhilePurging(await deps.core.quotas.getChat(key));
    await guarded(() => deps.files.ensureLayout(key));
  }
  return readChatFile(deps, key, HISTORY_FILE, range);
}
