import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { parseOptions, runLimits } from '../../src/ops/limits.js';
import { createTestTable } from '../support/dynamo.js';
import { silentLogger } from '../support/fakes.js';

const PROJECT = join(import.meta.dirname, '../..');

describe('npm run limits', () => {
  it('refuses a command line it cannot act on, saying how to call it', () => {
    expect(() => parseOptions(['--table', 't'])).toThrow(/--tenant is required/);
    expect(() => parseOptions(['--tenant', 'a'])).toThrow(/--table or --data-dir/);
    expect(() => parseOptions(['--tenant', 'a', '--table', 't', '--max-live', '0'])).toThrow(/--max-live/);
    expect(() => parseOptions(['--tenant', 'a', '--table', 't', '--clear', '--max-live', '2'])).toThrow(
      /--clear/,
    );
    expect(parseOptions(['--tenant', 'a', '--table', 't', '--max-live-per-owner', '4']).change).toEqual({
      maxLivePerOwner: 4,
    });
  });

  it('sets, merges, shows and clears a tenant’s limits in the table', async () => {
    const table = await createTestTable();
    const quotas = new DynamoQuotaStore(table.client, table.tableName);
    const run = (...argv: string[]) =>
      runLimits(quotas, parseOptions(['--tenant', 'acme', '--table', table.tableName, ...argv]));
    await run('--max-live', '7');
    await run('--max-live-per-owner', '2');
    expect(JSON.parse(await run())).toEqual({
      tenant: 'acme',
      limits: { maxLiveSandboxes: 7, maxLivePerOwner: 2 },
      liveSandboxes: 0,
    });
    await run('--clear');
    expect(JSON.parse(await run()).limits).toBe('defaults');
  });

  describe('against a running local control plane', { timeout: 120_000 }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-limits-'));
    let plane: LocalControlPlane | null = null;
    afterAll(async () => {
      await plane?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('writes the limit the running control plane then enforces', async () => {
      plane = await startLocalControlPlane(
        parseLocalConfig({ PORT: '0', SANDBOX_DATA_DIR: dataDir }),
        silentLogger,
      );
      const command = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/ops/limits-command.ts',
          '--data-dir',
          dataDir,
          '--tenant',
          'local',
          '--max-live',
          '1',
        ],
        { cwd: PROJECT, encoding: 'utf8' },
      );
      expect(command.stderr).toBe('');
      expect(JSON.parse(command.stdout)).toMatchObject({ tenant: 'local', limits: { maxLiveSandboxes: 1 } });
      const put = (chatId: string) =>
        fetch(`${plane!.url}/v1/chats/${chatId}/sandbox`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${plane!.apiToken}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ agentId: 'a' }),
        });
      expect((await put(crypto.randomUUID())).status).toBe(201);
      expect((await put(crypto.randomUUID())).status).toBe(429);
    });
  });
});
