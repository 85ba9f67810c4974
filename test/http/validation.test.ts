import { beforeEach, describe, expect, it } from 'vitest';
import { CHAT, httpHarness, problem } from './harness.js';

describe('request validation', () => {
  let h: Awaited<ReturnType<typeof httpHarness>>;
  beforeEach(async () => {
    h = await httpHarness();
  });

  it.each([
    ['not-a-uuid'],
    ['11111111-1111-1111-1111-11111111111'],
    ['{11111111-1111-1111-1111-111111111111}'],
  ])('answers 422 validation_failed for chat id %s', async (chatId) => {
    const response = await h.put(chatId, { agentId: 'a1' });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe('validation_failed');
    expect(body.errors?.[0]?.path).toBe('chatId');
  });

  it.each([
    ['a missing agentId', {}, 'agentId'],
    ['a bad agentId', { agentId: 'has space' }, 'agentId'],
    ['an unknown field', { agentId: 'a1', colour: 'red' }, 'body'],
    ['a reserved env name', { agentId: 'a1', env: { AGENT_ID: 'x' } }, 'env.AGENT_ID'],
    ['an AWS_ env name', { agentId: 'a1', env: { AWS_REGION: 'x' } }, 'env.AWS_REGION'],
    ['a lower-case env name', { agentId: 'a1', env: { path: 'x' } }, 'env.path'],
    [
      'too many env vars',
      { agentId: 'a1', env: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`V${i}`, 'x'])) },
      'env',
    ],
    ['too long an env value', { agentId: 'a1', env: { V: 'x'.repeat(4097) } }, 'env.V'],
    [
      'an env over 6144 characters in all',
      { agentId: 'a1', env: { A: 'x'.repeat(4000), B: 'x'.repeat(2144) } },
      'env',
    ],
    ['an env over 6144 characters once escaped', { agentId: 'a1', env: { A: '"'.repeat(4096) } }, 'env'],
    [
      'too many metadata entries',
      { agentId: 'a1', metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
    ],
    ['waitSeconds over 25', { agentId: 'a1', waitSeconds: 26 }, 'waitSeconds'],
    ['an idle timeout under the minimum', { agentId: 'a1', idleTimeoutSeconds: 59 }, 'idleTimeoutSeconds'],
    [
      'a lifetime under the idle timeout',
      { agentId: 'a1', idleTimeoutSeconds: 600, maxLifetimeSeconds: 599 },
      'maxLifetimeSeconds',
    ],
    ['a lifetime over the cap', { agentId: 'a1', maxLifetimeSeconds: 86_401 }, 'maxLifetimeSeconds'],
  ])('answers 422 validation_failed for %s, naming the field', async (_name, body, path) => {
    const response = await h.put(CHAT, body);
    expect(response.status).toBe(422);
    const details = await problem(response);
    expect(details.code).toBe('validation_failed');
    expect(details.errors?.map((error) => error.path)).toContain(path);
  });

  it('answers 400 malformed_json for broken JSON', async () => {
    const response = await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, { body: '{"agentId": ' });
    expect(response.status).toBe(400);
    expect((await problem(response)).code).toBe('malformed_json');
  });

  it('answers 415 unsupported_media_type for a body that is not JSON', async () => {
    const response = await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, {
      body: 'agentId=a1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(415);
    expect((await problem(response)).code).toBe('unsupported_media_type');
    const keepalive = await h.call('POST', `/v1/chats/${CHAT}/sandbox/keepalive`, {
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(keepalive.status).toBe(415);
  });

  it('answers 413 payload_too_large over 64 KiB and creates nothing', async () => {
    const response = await h.put(CHAT, { agentId: 'a1', metadata: { big: 'x'.repeat(70_000) } });
    expect(response.status).toBe(413);
    expect((await problem(response)).code).toBe('payload_too_large');
    expect(h.deps.runtime.launches).toBe(0);
  });

  it('answers 422 for bad list and get queries', async () => {
    expect((await h.call('GET', '/v1/sandboxes?limit=0')).status).toBe(422);
    expect((await h.call('GET', '/v1/sandboxes?limit=101')).status).toBe(422);
    expect((await h.call('GET', '/v1/sandboxes?status=sleeping')).status).toBe(422);
    expect((await h.call('GET', `/v1/chats/${CHAT}/sandbox?waitSeconds=30`)).status).toBe(422);
  });

  it('answers 404 route_not_found for an unknown route', async () => {
    const response = await h.call('GET', '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect((await problem(response)).code).toBe('route_not_found');
  });
});
