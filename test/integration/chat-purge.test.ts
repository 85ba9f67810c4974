/**
 * Purging a chat against DynamoDB Local and a real directory tree: a create that claimed before the
 * fence makes the purge give up, keeping everything; one that read the chat before the fence and
 * claims after it is turned away by the store, whatever its timing; a create after the mark is
 * refused; a finished purge leaves no record and no files.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import { DynamoStorageUsageStore } from '../../src/adapters/dynamodb/storage-usage-store.js';
import { PosixChatFiles } from '../../src/adapters/fs/chat-tree.js';
import { localChatDir } from '../../src/adapters/local/local-runtime.js';
import { finishPurges, localPurgeFinish, PURGE_SETTLE_MS, purgeChat } from '../../src/core/chat-purge.js';
import type { StorageDeps } from '../../src/core/chat-storage.js';
import { SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { Session } from '../../src/core/model.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';
import { sessionOf } from '../support/sessions.js';

const LIVE_SESSION = '00000000-0000-4000-8000-0000000000aa';

/** A session of the chat as the store holds it: `provisioning`, just claimed. */
function provisioning(now: number): Session {
  return sessionOf(key, now, { sessionId: LIVE_SESSION });
}

/** An earlier session of the chat that stopped and was settled: nothing due. */
function ended(now: number): Session {
  return {
    ...provisioning(now - 60_000),
    sessionId: '00000000-0000-4000-8000-0000000000bb',
    status: 'stopped',
    stoppedAt: now - 1_000,
    settledAt: now - 500,
    stopReason: 'deleted',
    dueAt: null,
  };
}

async function setup() {
  const table = await createTestTable();
  const core = coreDeps(table.store);
  const dir = mkdtempSync(join(tmpdir(), 'purge-'));
  const storage: StorageDeps = {
    core,
    files: new PosixChatFiles({ rootOf: (key) => localChatDir(dir, key) }),
    usage: new DynamoStorageUsageStore(table.store.client, table.store.tableName),
    purges: new DynamoChatPurges(table.store.client, table.store.tableName),
    config: { maxFileBytes: 1000, ownerMaxBytes: 10_000 },
  };
  return { core, storage, dir };
}

const key = { tenant: 'local', chatId: '55555555-5555-4555-8555-555555555555' };

function seedFiles(dir: string): string {
  const root = localChatDir(dir, key);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'file.txt'), 'data');
  return root;
}

describe('chat purge', () => {
  it('refuses creates once marked, and leaves nothing once finished', async () => {
    const { core, storage, dir } = await setup();
    const root = seedFiles(dir);
    expect((await purgeChat(storage, key)).result).toBe('purging');
    await expect(getOrCreate(core, { key, agentId: 'a1' })).rejects.toMatchObject({ code: 'chat_purging' });
    // Before the settle time nothing is removed.
    expect((await finishPurges(localPurgeFinish(storage))).purged).toBe(0);
    expect(existsSync(root)).toBe(true);
    core.clock.advance(PURGE_SETTLE_MS + 1);
    expect(await finishPurges(localPurgeFinish(storage))).toEqual({
      purged: 1,
      abandoned: 0,
      truncated: false,
    });
    expect(existsSync(root)).toBe(false);
    expect(await core.quotas.getChat(key)).toBeNull();
    // Done: the chat id starts afresh.
    const created = await getOrCreate(core, { key, agentId: 'a1' });
    expect(created.created).toBe(true);
  });

  it('gives up a purge when a create claimed before the fence, keeping the files', async () => {
    const { core, storage, dir } = await setup();
    const root = seedFiles(dir);
    expect((await core.store.claim(ended(core.clock.now()), null)).ok).toBe(true);
    expect((await purgeChat(storage, key)).result).toBe('purging');
    // A create that read the chat (and its stopped session) just before the mark claims before the fence.
    expect((await core.store.claim(provisioning(core.clock.now()), 1)).ok).toBe(true);
    core.clock.advance(PURGE_SETTLE_MS + 1);
    expect(await finishPurges(localPurgeFinish(storage))).toEqual({
      purged: 0,
      abandoned: 1,
      truncated: false,
    });
    expect(existsSync(join(root, 'file.txt'))).toBe(true);
    expect((await core.quotas.getChat(key))?.purgingAt ?? null).toBeNull();
    expect((await core.store.get(key))?.sessionId).toBe(LIVE_SESSION);
  });

  it('fences out a create that read the session before the fence, however late its claim lands', async () => {
    const { core, storage } = await setup();
    expect((await core.store.claim(ended(core.clock.now()), null)).ok).toBe(true);
    const { purgingAt } = await purgeChat(storage, key);
    await storage.purges.fenceSession(key, purgingAt!);
    // Its claim names the version it read: the fence moved it on.
    const stale = await core.store.claim(provisioning(core.clock.now()), 1);
    expect(stale.ok).toBe(false);
    // Going round, it reads the mark and refuses.
    await expect(getOrCreate(core, { key, agentId: 'a1' })).rejects.toMatchObject({ code: 'chat_purging' });
    // The fence is no session change anyone sees: the session is as it was, stopped.
    expect(await core.store.get(key)).toMatchObject({ status: 'stopped', version: 2 });
  });

  it("refuses a chat's first claim in its own write once the mark is there", async () => {
    const { core, storage, dir } = await setup();
    seedFiles(dir);
    expect((await purgeChat(storage, key)).result).toBe('purging');
    // A create that read the chat before the mark, claiming now: the transaction checks the mark.
    expect(await core.store.claim(provisioning(core.clock.now()), null)).toEqual({
      ok: false,
      current: null,
    });
    expect(await core.store.get(key)).toBeNull();
  });

  it('refuses to purge a chat whose sandbox has not stopped', async () => {
    const { core, storage } = await setup();
    await getOrCreate(core, { key, agentId: 'a1' });
    await expect(purgeChat(storage, key)).rejects.toBeInstanceOf(SandboxError);
    await expect(purgeChat(storage, key)).rejects.toMatchObject({ code: 'chat_has_active_sandbox' });
  });
});
