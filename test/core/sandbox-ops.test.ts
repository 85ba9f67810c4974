import { beforeEach, describe, expect, it } from 'vitest';
import type { SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey } from '../../src/core/model.js';
import { deleteSandbox, getSandbox, keepalive } from '../../src/core/sandbox-ops.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

const key: ChatKey = { tenant: 't1', chatId: '99999999-9999-4999-8999-999999999999' };
const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: SandboxError) => error.code,
  );

describe('sandbox operations', () => {
  let deps: ReturnType<typeof coreDeps>;
  beforeEach(async () => {
    deps = coreDeps((await createTestTable()).store);
  });

  it('deletes a live sandbox: stopping with reason deleted and its task stopped; again answers not_found', async () => {
    const { session } = await getOrCreate(deps, { key, agentId: 'a1' });
    const result = await deleteSandbox(deps, key);
    expect(result).toMatchObject({
      result: 'deleted',
      session: { status: 'stopping', stopReason: 'deleted' },
    });
    expect(deps.runtime.tasks.get(session.runtimeRef!)?.state.status).toBe('stopped');
    expect(await deleteSandbox(deps, key)).toEqual({ result: 'not_found' });
  });

  it('slides the idle expiry on keepalive but never past the lifetime cap', async () => {
    await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 600, maxLifetimeSeconds: 1000 });
    deps.clock.advance(300_000);
    const touched = await keepalive(deps, key);
    expect(touched.expiresAt).toBe(deps.clock.now() + 600_000);
    deps.clock.advance(300_000);
    const capped = await keepalive(deps, key, 900);
    expect(capped.expiresAt).toBe(capped.maxExpiresAt);
    expect(capped.idleTimeoutSeconds).toBe(900);
  });

  it('answers sandbox_not_found to a keepalive of an expired or missing sandbox', async () => {
    expect(await code(keepalive(deps, key))).toBe('sandbox_not_found');
    await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 60 });
    deps.clock.advance(60_000);
    expect(await code(keepalive(deps, key))).toBe('sandbox_not_found');
  });

  it('never reuses a sandbox past its expiry, even before the reconciler stops it', async () => {
    const first = await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 60 });
    deps.clock.advance(60_000);
    const second = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(second.created).toBe(true);
    expect(second.session.sessionId).not.toBe(first.session.sessionId);
  });

  it('touches up to the lifetime cap when the idle expiry would pass it', async () => {
    await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 600, maxLifetimeSeconds: 700 });
    deps.clock.advance(200_000);
    const reused = await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 600 });
    expect(reused.created).toBe(false);
    expect(reused.session.expiresAt).toBe(reused.session.maxExpiresAt);
  });

  it('holds a get while the sandbox is provisioning, until the wait runs out', async () => {
    await getOrCreate(deps, { key, agentId: 'a1' });
    const start = deps.clock.now();
    const held = await getSandbox(deps, key, start + 2000);
    expect(held.status).toBe('provisioning');
    expect(deps.clock.now() - start).toBeGreaterThanOrEqual(2000);
  });

  it('refuses timeouts outside the configured bounds', async () => {
    expect(await code(getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 10 }))).toBe(
      'validation_failed',
    );
    expect(
      await code(getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 600, maxLifetimeSeconds: 300 })),
    ).toBe('validation_failed');
    expect(await code(keepalive(deps, key, 10))).toBe('validation_failed');
  });
});
