/**
 * Tenant isolation on every route of the OpenAPI document: tenant B, knowing tenant A's chat ids
 * and owner ids, can neither read, list, count, change, delete nor exhaust anything of A's. The
 * routes come from the served document, and each needs a check here: a new route fails this test
 * until it has one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpHarness, json } from './harness.js';

const A = { Authorization: 'Bearer test-token-123' };
const B = { Authorization: 'Bearer tenant-b-token-456' };
const CHAT = '88888888-8888-4888-8888-000000000001';

type Harness = Awaited<ReturnType<typeof httpHarness>>;

/** A's state as A sees it, to compare before and after B's calls. */
async function stateOfA(h: Harness) {
  const sandbox = await json(await h.call('GET', `/v1/chats/${CHAT}/sandbox`, { headers: A }));
  const file = await (await h.call('GET', `/v1/chats/${CHAT}/file?path=notes.txt`, { headers: A })).text();
  const history = await (await h.call('GET', `/v1/chats/${CHAT}/history`, { headers: A })).text();
  const files = await json(await h.call('GET', `/v1/chats/${CHAT}/files`, { headers: A }));
  const usage = await json(await h.call('GET', '/v1/usage?ownerId=alice', { headers: A }));
  const list = await json(await h.call('GET', '/v1/sandboxes', { headers: A }));
  return {
    file,
    history,
    files: files.items.map((item: { path: string; etag: string }) => `${item.path} ${item.etag}`),
    sessionId: sandbox.sandbox.sessionId,
    status: sandbox.sandbox.status,
    usage,
    count: list.items.length,
  };
}

/** B's answer about the chat: nothing found, or B's own sandbox of that chat id, never A's. */
async function expectNothingOfA(response: Response): Promise<void> {
  const body = await json(response);
  if (response.status === 404 || body.result === 'not_found') return;
  expect(response.status).toBe(200);
  expect(body.sandbox.agentId).toBe('other');
}

/** What B does on each operation, and what B must see: nothing of A's. */
const CHECKS: Record<string, (h: Harness) => Promise<void>> = {
  getHealth: async (h) => {
    expect((await h.call('GET', '/v1/health', { headers: B })).status).toBe(200);
  },
  compatGetHealth: async (h) => {
    expect((await h.call('GET', '/api/v1/health', { headers: B })).status).toBe(200);
  },
  getOpenApiDocument: async (h) => {
    expect((await h.call('GET', '/v1/openapi.json', { headers: B })).status).toBe(200);
  },
  compatCreateSandbox: async (h) => {
    const response = await h.call('POST', '/api/v1/create', {
      headers: B,
      body: { chat_id: CHAT, agent_id: 'other' },
    });
    // B's own sandbox of that chat id (or B's own limit reached), never A's.
    if (response.status === 429) return;
    expect(response.status).toBe(200);
    expect((await json(response)).agent_id).toBe('other');
  },
  // Chat storage: B's chat of the same id is B's own directory.
  listChatFiles: async (h) => {
    const response = await h.call('GET', `/v1/chats/${CHAT}/files`, { headers: B });
    if (response.status === 404) return;
    const listed = await json(response);
    expect(listed.items.map((item: { path: string }) => item.path)).not.toContain('notes.txt');
  },
  putChatFile: async (h) => {
    const written = await h.call('PUT', `/v1/chats/${CHAT}/file?path=notes.txt`, {
      headers: B,
      body: 'from B',
    });
    expect(written.status).toBe(201);
  },
  getChatFile: async (h) => {
    const read = await h.call('GET', `/v1/chats/${CHAT}/file?path=notes.txt`, { headers: B });
    if (read.status === 200) expect(await read.text()).toBe('from B');
    else expect(read.status).toBe(404);
  },
  deleteChatFile: async (h) => {
    await h.call('DELETE', `/v1/chats/${CHAT}/file?path=notes.txt`, { headers: B });
  },
  getChatHistory: async (h) => {
    const read = await h.call('GET', `/v1/chats/${CHAT}/history`, { headers: B });
    if (read.status === 200) expect(await read.text()).not.toContain('A wrote this');
  },
  putChatHistory: async (h) => {
    await h.call('PUT', `/v1/chats/${CHAT}/history`, { headers: B, body: 'B replaced it' });
  },
  appendChatHistory: async (h) => {
    await h.call('POST', `/v1/chats/${CHAT}/history`, { headers: B, body: 'B appended' });
  },
  purgeChat: async (h) => {
    // B's chat of that id is B's own: purging it (or being refused for B's live sandbox) is B's.
    const purge = await h.call('DELETE', `/v1/chats/${CHAT}`, { headers: B });
    expect([200, 202, 409]).toContain(purge.status);
  },
  compatDeleteSandbox: async (h) => {
    const response = await json(await h.call('DELETE', `/api/v1/sandboxes/${CHAT}`, { headers: B }));
    expect(response.result === 'not_found' || response.session_id !== null).toBe(true);
  },
  getSandbox: async (h) => {
    await expectNothingOfA(await h.call('GET', `/v1/chats/${CHAT}/sandbox`, { headers: B }));
  },
  getOrCreateSandbox: async (h) => {
    // B's chat of the same id is B's own: a new sandbox, not A's, under B's owner of the same name.
    const created = await json(
      await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, {
        headers: B,
        body: { agentId: 'other', ownerId: 'alice' },
      }),
    );
    expect(created.created).toBe(true);
    // B filling its own quota does not exhaust A's (limits are per tenant and per owner of a tenant).
    for (let n = 2; n <= 3; n += 1) {
      await h.call('PUT', `/v1/chats/88888888-8888-4888-8888-00000000000${n}/sandbox`, {
        headers: B,
        body: { agentId: 'other', ownerId: 'alice' },
      });
    }
  },
  keepaliveSandbox: async (h) => {
    await expectNothingOfA(await h.call('POST', `/v1/chats/${CHAT}/sandbox/keepalive`, { headers: B }));
  },
  deleteSandbox: async (h) => {
    await expectNothingOfA(await h.call('DELETE', `/v1/chats/${CHAT}/sandbox`, { headers: B }));
  },
  listSandboxes: async (h) => {
    const listed = await json(await h.call('GET', '/v1/sandboxes?ownerId=alice', { headers: B }));
    expect(listed.items.every((item: { agentId: string }) => item.agentId === 'other')).toBe(true);
  },
  getUsage: async (h) => {
    const usage = await json(await h.call('GET', '/v1/usage?ownerId=alice', { headers: B }));
    expect(usage.tenant.limit).toBe(3);
    expect(usage.owner.live).toBeLessThanOrEqual(2);
  },
};

describe('tenant isolation', () => {
  it('holds on every route of the OpenAPI document', async () => {
    const h = await httpHarness({
      storageDir: mkdtempSync(join(tmpdir(), 'cross-tenant-')),
      tenants: { 'tenant-b-token-456': 'tenant-b' },
      config: { quotas: { tenantMaxLive: 3, ownerMaxLive: 2, repairGraceSeconds: 60 } },
    });
    await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, {
      headers: A,
      body: { agentId: 'agent-a', ownerId: 'alice' },
    });
    await h.call('PUT', `/v1/chats/${CHAT}/file?path=notes.txt`, { headers: A, body: 'from A' });
    await h.call('POST', `/v1/chats/${CHAT}/history`, { headers: A, body: 'A wrote this' });
    const before = await stateOfA(h);
    expect(before.file).toBe('from A');

    const doc = await json(await h.call('GET', '/v1/openapi.json', { headers: A }));
    const operations: string[] = [];
    for (const methods of Object.values(doc.paths) as Record<string, { operationId: string }>[]) {
      for (const operation of Object.values(methods)) operations.push(operation.operationId);
    }
    expect(
      operations.filter((operationId) => !CHECKS[operationId]),
      'routes without an isolation check',
    ).toEqual([]);
    for (const operationId of operations) await CHECKS[operationId]!(h);

    expect(await stateOfA(h)).toEqual(before);
  });
});
