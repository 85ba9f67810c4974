/**
 * Purging a chat: the mark (`purgeChat`, at the caller's request), and the end of every due purge
 * (`finishPurges`, by the reconciler). The mark makes the chat refuse new sandboxes and writes; the
 * end fences the chat's session in the store, removes what the runtime made for the chat, its
 * directory, figures and records, and takes the mark away last. The only way chat storage is
 * deleted.
 */
import type { ChatPurges, StorageUsageStore } from './chat-files-port.js';
import { guarded, type StorageDeps, serialisedChat } from './chat-storage.js';
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { type ChatKey, isTerminal } from './model.js';

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
