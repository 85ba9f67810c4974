import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import { javaMajorVersion, startLocalDynamo } from '../../src/local/dynamodb-local.js';

describe('startLocalDynamo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-dynamo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Two JVM starts in a row: on a busy 2-core machine each can take well over ten seconds.
  it('keeps its data in a folder given by a relative path, across a restart', {
    timeout: 150_000,
  }, async () => {
    // npm start's default data folder (.data) is relative to the project, not to DynamoDB Local's folder.
    const dataDir = relative(process.cwd(), join(dir, 'dynamodb'));
    const first = await startLocalDynamo({ dataDir });
    const client = first.client();
    try {
      expect(await ensureTable(client, 'sessions')).toBe(true);
      await new DynamoSessionStore(client, 'sessions').acquireLease('probe', 'me', 0, 1);
    } finally {
      client.destroy();
      await first.stop();
    }

    const second = await startLocalDynamo({ dataDir });
    const again = second.client();
    try {
      expect(await ensureTable(again, 'sessions')).toBe(false);
      expect(await new DynamoSessionStore(again, 'sessions').acquireLease('probe', 'other', 0, 1)).toBe(
        false,
      );
    } finally {
      again.destroy();
      await second.stop();
    }
  });
});

describe('javaMajorVersion', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_402"', 8],
    ['openjdk version "11.0.22" 2024-01-16', 11],
    ['something else', null],
  ])('reads %s as %s', (output, major) => {
    expect(javaMajorVersion(output)).toBe(major);
  });
});
