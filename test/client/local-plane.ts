/**
 * A real local control plane for the client and CLI tests: its own data folder and table on the run's
 * DynamoDB Local, port 0, and test profiles whose sandboxes do something known:
 * - `chatty` prints `hello <CHAT_ID>`, serves HTTP (so it becomes running), prints `bye` on SIGTERM;
 * - `broken` exits at once (it ends instead of running);
 * - `silent` never listens (it stays provisioning).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { silentLogger } from '../support/fakes.js';

const CHATTY = [
  "console.log('hello ' + process.env.CHAT_ID);",
  "process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });",
  "require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), process.env.HOST);",
].join(' ');

const PROFILES = {
  chatty: { command: [process.execPath, '-e', CHATTY] },
  broken: { command: [process.execPath, '-e', 'process.exit(3)'] },
  silent: { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
};

export interface TestPlane {
  readonly plane: LocalControlPlane;
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a control plane; `token` absent, it uses the data folder's own (written to `api-token`).
 * `stop` stops it and removes its folder, and may be called more than once.
 */
export async function startTestPlane(options: { token?: string; env?: Record<string, string> } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-client-'));
  let plane: LocalControlPlane;
  try {
    plane = await startLocalControlPlane(
      parseLocalConfig({
        PORT: '0',
        SANDBOX_DATA_DIR: dataDir,
        ...(options.token ? { SANDBOX_API_TOKEN: options.token } : {}),
        SANDBOX_TABLE_NAME: `client-${randomUUID()}`,
        DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        SANDBOX_RECONCILE_INTERVAL_SECONDS: '1',
        SANDBOX_LOCAL_PROFILES: JSON.stringify(PROFILES),
        ...options.env,
      }),
      silentLogger,
    );
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | null = null;
  return {
    plane,
    url: plane.url,
    token: plane.apiToken,
    dataDir,
    stop() {
      stopped ??= plane.stop().finally(() => rmSync(dataDir, { recursive: true, force: true }));
      return stopped;
    },
  } satisfies TestPlane;
}
