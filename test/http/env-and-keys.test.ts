import { beforeEach, describe, expect, it } from 'vitest';
import { RESERVED_ENV_PATTERNS } from '../../src/core/env-policy.js';
import { CHAT, httpHarness, problem } from './harness.js';

/** A name each reserved pattern covers: the pattern with `*` filled in. */
const reservedExamples = RESERVED_ENV_PATTERNS.map((pattern) => pattern.replaceAll('*', 'X'));

describe('env and map keys a caller may not send', () => {
  let h: Awaited<ReturnType<typeof httpHarness>>;
  beforeEach(async () => {
    h = await httpHarness();
  });

  async function expectRefused(body: unknown, path: string): Promise<void> {
    const response = await h.put(CHAT, body);
    expect(response.status).toBe(422);
    const details = await problem(response);
    expect(details.code).toBe('validation_failed');
    expect(details.errors?.map((error) => error.path)).toContain(path);
    expect(h.deps.runtime.launches).toBe(0);
    expect(await h.deps.store.get({ tenant: 'local', chatId: CHAT })).toBeNull();
  }

  it('refuses NODE_OPTIONS that would run code before the profile program, naming it', async () => {
    await expectRefused(
      { agentId: 'a1', env: { NODE_OPTIONS: '--import=data:text/javascript;base64,AAAA' } },
      'env.NODE_OPTIONS',
    );
  });

  it.each(reservedExamples)('refuses the reserved name %s', async (name) => {
    await expectRefused({ agentId: 'a1', env: { [name]: 'x' } }, `env.${name}`);
  });

  it.each([
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PATH',
    'NODE_PATH',
    'NODE_EXTRA_CA_CERTS',
    'HOME',
    'BASH_ENV',
    'TMPDIR',
    'HOST',
    'PYTHONSTARTUP',
    'PERL5OPT',
    'RUBYOPT',
    'JAVA_TOOL_OPTIONS',
    'SANDBOX_LOCAL_DATA_DIR',
  ])('refuses %s, which the issue reproduced as passing through', async (name) => {
    await expectRefused({ agentId: 'a1', env: { [name]: 'x' } }, `env.${name}`);
  });

  it('refuses a NUL byte in an env value', async () => {
    await expectRefused({ agentId: 'a1', env: { GREETING: 'a\u0000b' } }, 'env.GREETING');
  });

  it.each([
    ['env', '__proto__'],
    ['env', 'constructor'],
    ['env', 'prototype'],
    ['metadata', '__proto__'],
    ['metadata', 'constructor'],
    ['metadata', 'prototype'],
  ])('refuses the key %s.%s instead of dropping it or failing', async (field, key) => {
    const body = `{"agentId":"a1","${field}":{"${key}":"x"}}`;
    const response = await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, { body });
    expect(response.status).toBe(422);
    expect((await problem(response)).errors?.map((error) => error.path)).toContain(`${field}.${key}`);
    expect(h.deps.runtime.launches).toBe(0);
  });

  it('refuses __proto__ at the top of a body too', async () => {
    const body = '{"agentId":"a1","__proto__":{"waitSeconds":25}}';
    const response = await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, { body });
    expect(response.status).toBe(422);
    expect((await problem(response)).errors?.map((error) => error.path)).toEqual(['__proto__']);
  });

  it('refuses a NUL byte in metadata', async () => {
    await expectRefused({ agentId: 'a1', metadata: { team: 'a\u0000' } }, 'metadata.team');
  });

  it('answers a deeply nested body with 4xx, not a crash', async () => {
    const body = `{"agentId":"a1","metadata":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    const response = await h.call('PUT', `/v1/chats/${CHAT}/sandbox`, { body });
    expect(response.status).toBe(422);
  });

  it('accepts ordinary names', async () => {
    const response = await h.put(CHAT, { agentId: 'a1', env: { LOG_LEVEL: 'debug', APP_MODE: 'x' } });
    expect(response.status).toBe(201);
  });
});

describe('a profile with an env allow-list', () => {
  it('refuses every name outside the list, naming it, and accepts the rest', async () => {
    const h = await httpHarness({ config: { envAllowLists: { default: ['APP_*', 'LOG_LEVEL'] } } });
    const refused = await h.put(CHAT, { agentId: 'a1', env: { APP_MODE: 'x', OTHER: 'y' } });
    expect(refused.status).toBe(422);
    expect((await problem(refused)).errors).toEqual([
      { path: 'env.OTHER', message: "'OTHER' is not in the profile's list of allowed variables" },
    ]);
    expect(h.deps.runtime.launches).toBe(0);
    const accepted = await h.put(CHAT, { agentId: 'a1', env: { APP_MODE: 'x', LOG_LEVEL: 'info' } });
    expect(accepted.status).toBe(201);
  });
});

describe('list cursors', () => {
  it.each([
    ['an empty element', ['CHAT#local#', '']],
    [
      'another tenant',
      [
        'CHAT#other#11111111-1111-4111-8111-111111111111',
        '2026-11-22T00:00:00.000Z#11111111-1111-4111-8111-111111111111',
      ],
    ],
    [
      'a sort key of another chat',
      [
        'CHAT#local#11111111-1111-4111-8111-111111111111',
        '2026-11-22T00:00:00.000Z#22222222-2222-4222-8222-222222222222',
      ],
    ],
    [
      'a sort key that is not a time',
      ['CHAT#local#11111111-1111-4111-8111-111111111111', 'x#11111111-1111-4111-8111-111111111111'],
    ],
    ['a number', [1, 2]],
  ])('answers a forged cursor with %s 422 invalid_cursor', async (_name, parts) => {
    const h = await httpHarness();
    const cursor = Buffer.from(JSON.stringify(parts)).toString('base64url');
    const response = await h.call('GET', `/v1/sandboxes?cursor=${cursor}`);
    expect(response.status).toBe(422);
    expect((await problem(response)).code).toBe('invalid_cursor');
  });
});
