/**
 * `GET /v1/chats/{chatId}/sandbox/logs` against a real local control plane whose sandbox is a real
 * process writing known lines (test/support/log-printer.mjs): tail, following with a cursor, the
 * answer's bounds, cut lines, invalid UTF-8, and cursors of other chats and tenants refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { silentLogger } from '../support/fakes.js';

const PRINTER = fileURLToPath(new URL('../support/log-printer.mjs', import.meta.url));
const TOKEN_A = 'logs-token-a';
const TOKEN_B = 'logs-token-b';

interface LogsAnswer {
  readonly chatId: string;
  readonly sessionId: string;
  readonly lines: { time: string | null; message: string; truncated?: true }[];
  readonly nextCursor: string;
}

describe('sandbox logs, local mode', () => {
  let dataDir = '';
  let plane: LocalControlPlane | null = null;

  afterEach(async () => {
    try {
      await plane?.stop();
    } finally {
      plane = null;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const start = async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sandbox-logs-'));
    plane = await startLocalControlPlane(
      parseLocalConfig({
        PORT: '0',
        SANDBOX_DATA_DIR: dataDir,
        SANDBOX_API_TOKEN: TOKEN_A,
        SANDBOX_TABLE_NAME: `logs-${randomUUID()}`,
        DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        SANDBOX_RECONCILE_INTERVAL_SECONDS: '1',
        SANDBOX_API_TOKENS: JSON.stringify({
          [createHash('sha256').update(TOKEN_B).digest('hex')]: 'tenant-b',
        }),
        SANDBOX_LOCAL_PROFILES: JSON.stringify({ printer: { command: [process.execPath, PRINTER] } }),
      }),
      silentLogger,
    );
    return plane;
  };
  const call = (method: string, path: string, init: { body?: unknown; token?: string } = {}) =>
    fetch(`${plane!.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${init.token ?? TOKEN_A}`, 'Content-Type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  /** Starts a printer sandbox for the chat and answers its endpoint and session. */
  const sandbox = async (chatId: string, token = TOKEN_A) => {
    const created = await call('PUT', `/v1/chats/${chatId}/sandbox`, {
      body: { agentId: 'agent-logs', profile: 'printer', waitSeconds: 20 },
      token,
    });
    expect(created.status).toBe(201);
    const { sandbox } = (await created.json()) as {
      sandbox: { status: string; sessionId: string; endpoint: { host: string; port: number } };
    };
    expect(sandbox.status).toBe('running');
    const print = async (order: { lines?: string[]; base64?: string }) => {
      const answer = await fetch(`http://${sandbox.endpoint.host}:${sandbox.endpoint.port}/print`, {
        method: 'POST',
        body: JSON.stringify(order),
      });
      expect(answer.status).toBe(204);
    };
    return { sessionId: sandbox.sessionId, print };
  };
  const logs = async (chatId: string, query = '', token = TOKEN_A) => {
    const answer = await call('GET', `/v1/chats/${chatId}/sandbox/logs${query}`, { token });
    return { status: answer.status, body: (await answer.json()) as LogsAnswer & { code?: string } };
  };
  const messages = (answer: { body: LogsAnswer }) => answer.body.lines.map((line) => line.message);
  const following = (cursor: string) => `?cursor=${encodeURIComponent(cursor)}`;

  it('answers the last lines, then only the lines written after the cursor', async () => {
    await start();
    const chatId = randomUUID();
    const { sessionId, print } = await sandbox(chatId);
    await print({ lines: ['one', 'two', 'three', 'four'] });

    const tail = await logs(chatId, '?tail=3');
    expect(tail.status).toBe(200);
    expect(tail.body).toMatchObject({ chatId, sessionId });
    expect(tail.body.lines).toEqual([
      { time: null, message: 'two' },
      { time: null, message: 'three' },
      { time: null, message: 'four' },
    ]);
    // The default tail holds everything written so far, oldest first.
    expect(messages(await logs(chatId))).toEqual(['started', 'one', 'two', 'three', 'four']);

    // Nothing new: no lines, and a cursor that still follows.
    const idle = await logs(chatId, following(tail.body.nextCursor));
    expect(idle.status).toBe(200);
    expect(idle.body.lines).toEqual([]);

    // A line is answered once it is complete.
    await print({ lines: ['five', 'six'] });
    await print({ base64: Buffer.from('sev').toString('base64') });
    const next = await logs(chatId, following(idle.body.nextCursor));
    expect(messages(next)).toEqual(['five', 'six']);
    await print({ base64: Buffer.from('en\n').toString('base64') });
    const rest = await logs(chatId, following(next.body.nextCursor));
    expect(messages(rest)).toEqual(['seven']);
    expect((await logs(chatId, following(rest.body.nextCursor))).body.lines).toEqual([]);
    // The cursor of an earlier answer reads the same lines again: it names a position.
    expect(messages(await logs(chatId, following(tail.body.nextCursor)))).toEqual(['five', 'six', 'seven']);
  });

  it('bounds an answer to 1000 lines and cuts a line over 16 KiB, keeping invalid UTF-8 as U+FFFD', async () => {
    await start();
    const chatId = randomUUID();
    const { print } = await sandbox(chatId);
    const first = await logs(chatId);
    expect(messages(first)).toEqual(['started']);

    const many = Array.from({ length: 1500 }, (_, i) => `line ${i}`);
    await print({ lines: many });
    const page1 = await logs(chatId, following(first.body.nextCursor));
    expect(page1.body.lines).toHaveLength(1000);
    expect(messages(page1)).toEqual(many.slice(0, 1000));
    const page2 = await logs(chatId, following(page1.body.nextCursor));
    expect(messages(page2)).toEqual(many.slice(1000));
    // A tail is bounded the same way.
    expect((await logs(chatId, '?tail=1000')).body.lines).toHaveLength(1000);

    const long = `${'€'.repeat(6000)}tail-of-long-line`;
    const invalid = Buffer.concat([
      Buffer.from('bad '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(' end\n'),
    ]);
    await print({ lines: [long, 'after long'] });
    await print({ base64: invalid.toString('base64') });
    const cut = await logs(chatId, following(page2.body.nextCursor));
    expect(cut.body.lines).toHaveLength(3);
    const [longLine, afterLong, badLine] = cut.body.lines;
    expect(longLine!.truncated).toBe(true);
    // Three-byte characters: cut at the last boundary within 16 KiB (5461 of them), never mid-character.
    expect(longLine!.message).toBe('€'.repeat(5461));
    expect(afterLong).toEqual({ time: null, message: 'after long' });
    expect(badLine).toEqual({ time: null, message: 'bad \ufffd\ufffd\ufffd end' });
    // The tail cuts long lines the same way, and the same lines come back.
    const tail = await logs(chatId, '?tail=3');
    expect(tail.body.lines).toEqual(cut.body.lines);

    // 256 KiB of text at most: 40 lines of 16 KiB need two answers.
    await print({ lines: Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(16_384, 'x')) });
    const big1 = await logs(chatId, following(cut.body.nextCursor));
    expect(big1.body.lines).toHaveLength(16);
    const big2 = await logs(chatId, following(big1.body.nextCursor));
    expect(big2.body.lines).toHaveLength(16);
    expect(big2.body.lines[0]!.message.startsWith('16x')).toBe(true);
  });

  it('refuses cursors it did not write, or wrote for another chat or tenant', async () => {
    await start();
    const chatId = randomUUID();
    const otherChat = randomUUID();
    await sandbox(chatId);
    await sandbox(otherChat);
    // Tenant b has a chat with the very same id.
    await sandbox(chatId, TOKEN_B);
    const mine = (await logs(chatId)).body.nextCursor;
    const ofOtherChat = (await logs(otherChat)).body.nextCursor;
    const ofTenantB = (await logs(chatId, '', TOKEN_B)).body.nextCursor;
    expect((await logs(chatId, following(mine))).status).toBe(200);

    const [version, sessionId, position, tag] = JSON.parse(Buffer.from(mine, 'base64url').toString()) as [
      number,
      string,
      string,
      string,
    ];
    const forge = (body: unknown) => Buffer.from(JSON.stringify(body)).toString('base64url');
    for (const cursor of [
      'not-a-cursor',
      forge([version, sessionId, '0', tag]),
      forge([version, sessionId, `${position}0`, tag]),
      forge([version + 1, sessionId, position, tag]),
      forge({ sessionId, position }),
      `${mine}=`,
      ofOtherChat,
      ofTenantB,
    ]) {
      const refused = await logs(chatId, following(cursor));
      expect(refused.status, cursor).toBe(422);
      expect(refused.body.code).toBe('invalid_cursor');
    }
    // Tenant b's own cursor works for tenant b only.
    expect((await logs(chatId, following(ofTenantB), TOKEN_B)).status).toBe(200);
    expect((await logs(chatId, following(mine), TOKEN_B)).body.code).toBe('invalid_cursor');
  });

  it('answers 404, 422 and 401 as problems', async () => {
    await start();
    const unknown = await logs(randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('sandbox_not_found');
    const chatId = randomUUID();
    await sandbox(chatId);
    // Another tenant's chat of the same id is not found for this one.
    expect((await logs(chatId, '', TOKEN_B)).body.code).toBe('sandbox_not_found');
    for (const query of ['?tail=0', '?tail=1001', '?tail=ten', '?since=yesterday', '?cursor=']) {
      const bad = await logs(chatId, query);
      expect(bad.status, query).toBe(422);
      expect(bad.body.code).toBe('validation_failed');
    }
    // `since` filters nothing locally: lines have no time.
    expect(messages(await logs(chatId, '?since=2100-01-01T00:00:00Z'))).toEqual(['started']);
    const anonymous = await fetch(`${plane!.url}/v1/chats/${chatId}/sandbox/logs`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });

  it("reads a replacement session from its beginning, and an ended session's last line without a newline", async () => {
    await start();
    const chatId = randomUUID();
    const first = await sandbox(chatId);
    await first.print({ lines: ['from the first session'] });
    const cursor = (await logs(chatId)).body.nextCursor;

    expect((await call('DELETE', `/v1/chats/${chatId}/sandbox`)).status).toBe(200);
    await expect
      .poll(
        async () =>
          (
            (await (await call('GET', `/v1/chats/${chatId}/sandbox`)).json()) as {
              sandbox: { status: string };
            }
          ).sandbox.status,
        {
          timeout: 10_000,
        },
      )
      .toBe('stopped');
    // The stopped process wrote "bye" without a newline as it ended: it counts once the session has ended.
    const ended = await logs(chatId, following(cursor));
    expect(ended.body.sessionId).toBe(first.sessionId);
    expect(messages(ended)).toEqual(['bye']);
    expect(messages(await logs(chatId, '?tail=2'))).toEqual(['from the first session', 'bye']);

    const second = await sandbox(chatId);
    expect(second.sessionId).not.toBe(first.sessionId);
    await second.print({ lines: ['from the second session'] });
    const replaced = await logs(chatId, following(ended.body.nextCursor));
    expect(replaced.body.sessionId).toBe(second.sessionId);
    expect(messages(replaced)).toEqual(['started', 'from the second session']);
  });

  it('never follows a symbolic link in place of a log file', async () => {
    await start();
    const chatId = randomUUID();
    const { sessionId } = await sandbox(chatId);
    const secret = join(dataDir, 'secret.txt');
    writeFileSync(secret, 'not for callers\n');
    const logFile = join(dataDir, 'logs', `${sessionId}.log`);
    unlinkSync(logFile);
    symlinkSync(secret, logFile);
    const answer = await call('GET', `/v1/chats/${chatId}/sandbox/logs`);
    expect(answer.status).toBe(503);
    const body = (await answer.json()) as { code: string; detail: string };
    expect(body.code).toBe('logs_unavailable');
    expect(JSON.stringify(body)).not.toContain('not for callers');
    expect(JSON.stringify(body)).not.toContain(dataDir);
    expect(answer.headers.get('retry-after')).toBe('5');
  });
});
