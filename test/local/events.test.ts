/**
 * Lifecycle events of a real local control plane over HTTP: the Server-Sent Events stream (tenant
 * isolation, resuming with Last-Event-ID without a gap) and the signed webhook (retried through
 * failures, never holding up the API).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { SIGNATURE_HEADER, verifySignature } from '../../src/adapters/webhook/signature.js';
import type { SandboxEvent } from '../../src/core/events.js';
import { parseLocalConfig } from '../../src/local/config.js';
import { type LocalControlPlane, startLocalControlPlane } from '../../src/local/control-plane.js';
import { silentLogger } from '../support/fakes.js';

interface Message {
  readonly id: string;
  readonly event: string;
  readonly data: SandboxEvent;
}

/** A Server-Sent Events client over fetch: collects messages until closed. */
function subscribe(url: string, token: string, lastEventId?: string) {
  const messages: Message[] = [];
  const controller = new AbortController();
  let status = 0;
  const done = (async () => {
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
      signal: controller.signal,
    });
    status = response.status;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const fields: Record<string, string> = Object.fromEntries(
          block
            .split('\n')
            .filter((line) => !line.startsWith(':'))
            .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
        );
        if (fields.data) {
          messages.push({ id: fields.id ?? '', event: fields.event ?? '', data: JSON.parse(fields.data) });
        }
        end = buffered.indexOf('\n\n');
      }
    }
  })().catch((error: unknown) => {
    if ((error as Error).name !== 'AbortError') throw error;
  });
  return {
    messages,
    status: () => status,
    async close() {
      controller.abort();
      await done;
    },
  };
}

const statuses = (messages: readonly Message[]) => messages.map((message) => message.data.detail.status);

describe('local events', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sandbox-events-'));
  let plane: LocalControlPlane | null = null;
  let receiver: Server | null = null;

  afterEach(async () => {
    await plane?.stop();
    plane = null;
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    receiver = null;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (more: Record<string, string> = {}) => {
    plane = await startLocalControlPlane(
      parseLocalConfig({
        PORT: '0',
        SANDBOX_DATA_DIR: dataDir,
        SANDBOX_API_TOKEN: 'events-token-a',
        SANDBOX_TABLE_NAME: `events-${randomUUID()}`,
        DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        SANDBOX_RECONCILE_INTERVAL_SECONDS: '1',
        SANDBOX_API_TOKENS: JSON.stringify({
          [createHash('sha256').update('events-token-b').digest('hex')]: 'tenant-b',
        }),
        ...more,
      }),
      silentLogger,
    );
    return plane;
  };
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${plane!.url}${path}`, {
      method,
      headers: { Authorization: 'Bearer events-token-a', 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it("streams the tenant's events only, and a client that reconnects with Last-Event-ID misses nothing", async () => {
    await start();
    const a = subscribe(`${plane!.url}/v1/events`, 'events-token-a');
    const b = subscribe(`${plane!.url}/v1/events`, 'events-token-b');
    await expect.poll(() => a.status() * b.status()).toBe(200 * 200);

    const chatId = randomUUID();
    const created = await call('PUT', `/v1/chats/${chatId}/sandbox`, { agentId: 'agent-e', waitSeconds: 20 });
    expect(created.status).toBe(201);
    await expect.poll(() => statuses(a.messages), { timeout: 10_000 }).toEqual(['provisioning', 'running']);
    await a.close();

    // While the client is away, the sandbox is deleted and stops.
    await call('DELETE', `/v1/chats/${chatId}/sandbox`);
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

    const resumed = subscribe(`${plane!.url}/v1/events`, 'events-token-a', a.messages.at(-1)!.id);
    await expect.poll(() => statuses(resumed.messages), { timeout: 10_000 }).toEqual(['stopping', 'stopped']);
    const ids = [...a.messages, ...resumed.messages].map((message) => Number(message.id));
    expect(ids).toEqual(ids.map((_, index) => ids[0]! + index));
    expect(resumed.messages.map((message) => message.event)).toEqual([
      'Sandbox State Change',
      'Sandbox State Change',
    ]);
    expect(resumed.messages[1]!.data.detail).toMatchObject({
      chatId,
      stopReason: 'deleted',
      previousStatus: 'stopping',
    });
    await resumed.close();

    // Tenant b saw nothing of tenant a's sandbox.
    expect(b.messages).toEqual([]);
    await b.close();

    const bad = await fetch(`${plane!.url}/v1/events`, {
      headers: { Authorization: 'Bearer events-token-a', 'Last-Event-ID': 'yesterday' },
    });
    expect(bad.status).toBe(422);
    await bad.body?.cancel();
  });

  it('delivers every event to the webhook, signed, in order, through failures, without holding up the API', async () => {
    const received: { body: string; signature: string }[] = [];
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let failuresLeft = 2;
    receiver = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', async () => {
        // The first delivery hangs until the test has made its calls, then fails; so does the next.
        if (received.length === 0 && failuresLeft === 2) await released;
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          response.writeHead(500).end();
          return;
        }
        received.push({ body, signature: String(request.headers[SIGNATURE_HEADER.toLowerCase()]) });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', () => resolve()));
    const { port } = receiver.address() as AddressInfo;
    await start({ SANDBOX_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` });

    // The API answers while the webhook endpoint holds its first delivery.
    const chatId = randomUUID();
    expect(
      (await call('PUT', `/v1/chats/${chatId}/sandbox`, { agentId: 'agent-w', waitSeconds: 20 })).status,
    ).toBe(201);
    expect((await call('DELETE', `/v1/chats/${chatId}/sandbox`)).status).toBe(200);
    release();

    await expect
      .poll(() => received.map((entry) => (JSON.parse(entry.body) as SandboxEvent).detail.status), {
        timeout: 15_000,
      })
      .toEqual(['provisioning', 'running', 'stopping', 'stopped']);
    const secret = readFileSync(join(dataDir, 'webhook-secret'), 'utf8').trim();
    for (const entry of received)
      expect(verifySignature(secret, entry.body, entry.signature, Date.now())).toBe(true);
    expect(
      verifySignature('another-secret-entirely', received[0]!.body, received[0]!.signature, Date.now()),
    ).toBe(false);
  });

  it('refuses a webhook URL off this machine unless allowed', () => {
    expect(() =>
      parseLocalConfig({ SANDBOX_DATA_DIR: dataDir, SANDBOX_WEBHOOK_URL: 'https://hooks.example.com/x' }),
    ).toThrow(/SANDBOX_WEBHOOK_URL: must be a loopback address/);
    expect(
      parseLocalConfig({
        SANDBOX_DATA_DIR: dataDir,
        SANDBOX_WEBHOOK_URL: 'https://hooks.example.com/x',
        SANDBOX_WEBHOOK_ALLOW_REMOTE: 'true',
      }).webhook?.url,
    ).toBe('https://hooks.example.com/x');
    expect(() =>
      parseLocalConfig({ SANDBOX_DATA_DIR: dataDir, SANDBOX_WEBHOOK_URL: 'file:///etc/passwd' }),
    ).toThrow(/SANDBOX_WEBHOOK_URL/);
  });
});
