/**
 * Local mode's secrets and side doors, with its own DynamoDB Local on a data folder: a token and a
 * DynamoDB access key generated per folder (0600), CORS off, foreign Host names refused, and a
 * DynamoDB Local a crashed run left on the folder stopped instead of duplicated.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { localDynamoClient, TEST_CREDENTIALS } from '../../src/adapters/dynamodb/client.js';
import { isAlive } from '../../src/adapters/local/host-processes.js';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { leftoverPids, startLocalDynamo } from '../../src/local/dynamodb-local.js';
import { silentLogger } from '../support/fakes.js';

/** A GET with a Host header of our choosing (fetch may not send one). */
function getWithHost(url: string, host: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const sent = request(
      {
        host: target.hostname,
        port: target.port,
        path: '/v1/sandboxes',
        headers: { Host: host, Authorization: `Bearer ${token}` },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    sent.on('error', reject);
    sent.end();
  });
}

describe('local mode secrets', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-secrets-'));
  const config = parseLocalConfig({ PORT: '0', SANDBOX_DATA_DIR: dataDir });
  let plane: LocalControlPlane | null = null;

  afterEach(async () => {
    await plane?.stop();
    plane = null;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('generates a token and a DynamoDB key per data folder, readable by this user only, and keeps them', async () => {
    plane = await startLocalControlPlane(config, silentLogger);
    const tokenFile = join(dataDir, 'api-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'dynamodb-access-key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(plane.apiToken);
    expect(plane.apiToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const list = (token: string) =>
      fetch(`${plane!.url}/v1/sandboxes`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await list(plane.apiToken)).status).toBe(200);
    expect((await list('local-dev-token')).status).toBe(401);
    expect(await getWithHost(plane.url, 'attacker.example', plane.apiToken)).toBe(421);
    expect(await getWithHost(plane.url, `localhost:${new URL(plane.url).port}`, plane.apiToken)).toBe(200);

    // DynamoDB Local keeps the folder's sessions under the folder's own key: the well-known key sees nothing.
    const key = readFileSync(join(dataDir, 'dynamodb-access-key'), 'utf8').trim();
    expect(readdirSync(join(dataDir, 'dynamodb'))).toContain(`${key}_local.db`);
    const dynamoPid = leftoverPids(join(dataDir, 'dynamodb'));
    expect(dynamoPid).toHaveLength(1);

    const token = plane.apiToken;
    await plane.stop();
    plane = await startLocalControlPlane(config, silentLogger);
    expect(plane.apiToken).toBe(token);
  });

  it('lets SANDBOX_API_TOKEN override the folder token', async () => {
    plane = await startLocalControlPlane({ ...config, apiToken: 'explicit-token-1' }, silentLogger);
    expect(plane.apiToken).toBe('explicit-token-1');
    const answer = await fetch(`${plane.url}/v1/sandboxes`, {
      headers: { Authorization: 'Bearer explicit-token-1' },
    });
    expect(answer.status).toBe(200);
  });

  it('stops a DynamoDB Local a crashed run left on the folder, so only one serves it', async () => {
    const leftover = await startLocalDynamo({
      dataDir: join(dataDir, 'dynamodb'),
      credentials: TEST_CREDENTIALS,
    });
    try {
      plane = await startLocalControlPlane(config, silentLogger);
      expect(isAlive(leftover.pid)).toBe(false);
      const serving = leftoverPids(join(dataDir, 'dynamodb'));
      expect(serving).toHaveLength(1);
      expect(serving[0]).not.toBe(leftover.pid);
    } finally {
      await leftover.stop();
    }
  });
});

describe('DynamoDB Local', { timeout: 120_000 }, () => {
  it('answers no browser: CORS is off', async () => {
    const dynamo = await startLocalDynamo();
    try {
      const preflight = await fetch(dynamo.endpoint, {
        method: 'OPTIONS',
        headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await dynamo.stop();
    }
  });

  it('takes over the database of a folder made before local mode had its own key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-legacy-'));
    try {
      const legacy = await startLocalDynamo({ dataDir, credentials: TEST_CREDENTIALS });
      const client = legacy.client();
      await client.send(
        new CreateTableCommand({
          TableName: 'kept',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      client.destroy();
      await legacy.stop();

      const credentials = { accessKeyId: 'fresh0key', secretAccessKey: 'fresh0key' };
      const upgraded = await startLocalDynamo({ dataDir, credentials });
      const again = localDynamoClient(upgraded.endpoint, credentials);
      try {
        expect((await again.send(new ListTablesCommand({}))).TableNames).toEqual(['kept']);
        expect(existsSync(join(dataDir, 'local_local.db'))).toBe(false);
      } finally {
        again.destroy();
        await upgraded.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
