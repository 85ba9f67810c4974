/**
 * Purging a chat against DynamoDB Local and a real directory tree: a create that read the chat
 * record before the mark has claimed by the settle time, and the purge then gives up, keeping
 * everything; a create after the mark is refused; a finished purge leaves no record and no files.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import { DynamoStorageUsageStore } from '../../src/adapters/dynamodb/storage-usage-store.js';
import { PosixChatFiles } from '../../src/adapters/fs/chat-tree.js';
import { localChatDir } from '../../src/adapters/local/local-runtime.js';
import {
  finishPurges,
  localPurgeFinish,
  PURGE_SETTLE_MS,
  purgeChat,
  type StorageDeps,
} from '../../src/core/chat-storage.js';
import { SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { Session } from '../../src/core/model.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

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

  it('gives up a purge when a sandbox started before the mark took hold, keeping the files', async () => {
    const { core, storage, dir } = await setup();
    const root = seedFiles(dir);
    expect((await purgeChat(storage, key)).result).toBe('purging');
    // A create that had read the chat record just before the mark claims within its take window.
    const live: Session = {
      tenant: key.tenant,
      chatId: key.chatId,
      sessionId: '00000000-0000-4000-8000-0000000000aa',
      agentId: 'a1',
      profile: 'default',
      ownerId: null,
      status: 'provisioning',
      endpoint: null,
      runtimeRef: null,
      createdAt: core.clock.now(),
      lastActiveAt: core.clock.now(),
      expiresAt: core.clock.now() + 900_000,
      maxExpiresAt: core.clock.now() + 3_600_000,
      idleTimeoutSeconds: 900,
      stoppedAt: null,
      runningAt: null,
      expiringAt: null,
      settledAt: null,
      replacedUsage: null,
      stopReason: null,
      statusDetail: null,
      metadata: {},
      env: {},
      version: 1,
      dueAt: core.clock.now() + 180_000,
      launchAttempts: 0,
      stopAttempts: 0,
      runtimeEventVersion: null,
      ttl: null,
    };
    expect((await core.store.claim(live, null)).ok).toBe(true);
    core.clock.advance(PURGE_SETTLE_MS + 1);
    expect(await finishPurges(localPurgeFinish(storage))).toEqual({
      purged: 0,
      abandoned: 1,
      truncated: false,
    });
    expect(existsSync(join(root, 'file.txt'))).toBe(true);
    expect((await core.quotas.getChat(key))?.purgingAt ?? null).toBeNull();
    expect((await core.store.get(key))?.sessionId).toBe(live.sessionId);
  });

  it('refuses to purge a chat whose sandbox has not stopped', async () => {
    const { core, storage } = await setup();
    await getOrCreate(core, { key, agentId: 'a1' });
    await expect(purgeChat(storage, key)).rejects.toBeInstanceOf(SandboxError);
    await expect(purgeChat(storage, key)).rejects.toMatchObject({ code: 'chat_has_active_sandbox' });
  });
});
