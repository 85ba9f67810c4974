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
import { isTerminal } from './model.js';
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
async function guarded<T>(call: () => Promise<T>): Promise<T> {
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

function serialisedChat<T>(key: ChatKey, work: () => Promise<T>): Promise<T> {
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

/**
 * A purge waits this long after its mark before it removes anything: every write through the API
 * checks the mark when it starts and ends within 10 s (on AWS, the storage function's timeout),
 * so none is still writing when the directory goes; a few seconds more cover clock differences
 * between hosts. Creates need no wait: the fence (`ChatPurges.fenceSession`, and the first claim's
 * check of the mark) turns away every one that read the chat before the purge began.
 */
export const PURGE_SETTLE_MS = 15_000;

/**
 * Starts purging the chat: its directory, its session and chat records, its storage figures. 409
 * while a sandbox is live; `not_found` for a chat that has nothing. The chat refuses new sandboxes
 * and writes from now on; `finishPurges` removes everything once the settle time has passed.
 */
export async function purgeChat(
  deps: StorageDeps,
  key: ChatKey,
): Promise<{ readonly result: 'purging' | 'not_found'; readonly purgingAt: number | null }> {
  const { store, clock } = deps.core;
  const live = () =>
    new SandboxError(
      'chat_has_active_sandbox',
      'The chat has a live sandbox: delete it first, then purge the chat.',
    );
  const [session, chat] = await Promise.all([store.get(key), deps.core.quotas.getChat(key)]);
  if (session && !isTerminal(session)) throw live();
  if (chat?.purgingAt) return { result: 'purging', purgingAt: chat.purgingAt };
  if (!session && !chat && (await guarded(() => deps.files.list(key, { limit: 1 }))).items.length === 0) {
    return { result: 'not_found', purgingAt: null };
  }
  const now = clock.now();
  const purgingAt = await deps.purges.mark(key, now, now + PURGE_SETTLE_MS);
  // A sandbox that started between the read and the mark: give the purge up at once.
  const after = await store.get(key);
  if (after && !isTerminal(after)) {
    await deps.purges.cancel(key, purgingAt);
    throw live();
  }
  return { result: 'purging', purgingAt };
}

/**
 * What finishing a purge needs: the records, the storage figures, the chat's directory, and where
 * the runtime keeps per-chat resources (ECS: the chat's access point and task definitions).
 */
export interface PurgeFinishDeps {
  readonly core: Pick<CoreDeps, 'store' | 'quotas' | 'clock' | 'logger'>;
  readonly usage: StorageUsageStore;
  readonly purges: ChatPurges;
  /**
   * Removes the chat's directory (local mode: itself; AWS: the storage function, the only code with
   * the file system mounted). Told the mark, so it can check that the chat is still purging.
   */
  removeDirectory(key: ChatKey, purgingAt: number): Promise<void>;
  /** Removes what the runtime made for the chat (nothing locally); idempotent. */
  removeRuntimeResources?(key: ChatKey): Promise<void>;
}

/** The purge finishing steps of a host that serves storage itself (local mode). */
export function localPurgeFinish(deps: StorageDeps): PurgeFinishDeps {
  return { ...deps, removeDirectory: (key) => serialisedChat(key, () => deps.files.purge(key)) };
}

/**
 * Finishes every purge past its settle time: fences the chat's final session, removes the
 * runtime's resources for the chat, its directory, its storage figures and its session record,
 * then the chat record with the mark. A purge whose chat has a live session (it started before the
 * mark) is given up. Resumable: each step is idempotent, and the mark goes last.
 */
export async function finishPurges(
  deps: PurgeFinishDeps,
  options: { readonly deadline?: number } = {},
): Promise<{ purged: number; abandoned: number; truncated: boolean }> {
  const { store, clock, logger } = deps.core;
  let purged = 0;
  let abandoned = 0;
  for await (const { key, purgingAt } of deps.purges.listDue(clock.now())) {
    if (options.deadline !== undefined && clock.now() >= options.deadline) {
      return { purged, abandoned, truncated: true };
    }
    try {
      // The index may lag: only the mark the record holds now counts.
      const chat = await deps.core.quotas.getChat(key);
      if (chat?.purgingAt !== purgingAt) continue;
      const session = await store.get(key);
      if (session && !isTerminal(session)) {
        logger.warn('a sandbox started before the purge took hold: the purge is given up', { ...key });
        await deps.purges.cancel(key, purgingAt);
        abandoned += 1;
        continue;
      }
      // The fence first: from here on no create can claim the chat, however stale what it read.
      await deps.purges.fenceSession(key, purgingAt);
      await deps.removeRuntimeResources?.(key);
      await deps.removeDirectory(key, purgingAt);
      await deps.usage.remove({ kind: 'unowned', tenant: key.tenant }, key.chatId);
      if (chat.ownerId) {
        await deps.usage.remove({ kind: 'owner', tenant: key.tenant, ownerId: chat.ownerId }, key.chatId);
      }
      // The fenced session, then the mark: until the mark goes, creates refuse the chat.
      await deps.purges.removeSession(key, purgingAt);
      await deps.purges.finish(key, purgingAt);
      purged += 1;
    } catch (error) {
      logger.warn('a purge could not finish yet; the next pass tries again', { ...key, error });
    }
  }
  return { purged, abandoned, truncated: false };
}
