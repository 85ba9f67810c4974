import { beforeEach, describe, expect, it } from 'vitest';
import { LaunchError, SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps, throttled } from '../support/fakes.js';

const key = { tenant: 't1', chatId: '11111111-1111-1111-1111-111111111111' };

describe('getOrCreate', () => {
  let deps: ReturnType<typeof coreDeps>;
  beforeEach(async () => {
    deps = coreDeps((await createTestTable()).store);
  });

  it('starts a provisioning session with the task recorded when the chat has none', async () => {
    const result = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(result.created).toBe(true);
    expect(result.session).toMatchObject({ status: 'provisioning', agentId: 'a1', profile: 'default' });
    expect(result.session.runtimeRef).toBe(`task/${result.session.sessionId}`);
    expect(deps.runtime.launches).toBe(1);
  });

  it('reuses the live session and pushes its expiry out', async () => {
    const first = await getOrCreate(deps, { key, agentId: 'a1' });
    deps.clock.advance(60_000);
    const second = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(second.created).toBe(false);
    expect(second.session.sessionId).toBe(first.session.sessionId);
    expect(second.session.expiresAt).toBe(first.session.expiresAt + 60_000);
    expect(deps.runtime.launches).toBe(1);
  });

  it('answers sandbox_conflict for a live sandbox of another agent and changes nothing', async () => {
    const first = await getOrCreate(deps, { key, agentId: 'a1' });
    const error = await getOrCreate(deps, { key, agentId: 'a2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).code).toBe('sandbox_conflict');
    expect(await deps.store.get(key)).toEqual(first.session);
  });

  it('replaces an expired live session and stops its task', async () => {
    const first = await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 60 });
    deps.clock.advance(61_000);
    const second = await getOrCreate(deps, { key, agentId: 'a2' });
    expect(second.created).toBe(true);
    expect(second.session.sessionId).not.toBe(first.session.sessionId);
    expect(deps.runtime.tasks.get(first.session.runtimeRef!)?.state.status).toBe('stopped');
  });

  it('stops the task of a predecessor that was still stopping when a new session replaces it', async () => {
    const first = await getOrCreate(deps, { key, agentId: 'a1' });
    const { deleteSandbox } = await import('../../src/core/sandbox-ops.js');
    deps.runtime.stop = async () => {};
    await deleteSandbox(deps, key);
    const stops: string[] = [];
    deps.runtime.stop = async (ref) => {
      stops.push(ref);
    };
    const second = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(second.created).toBe(true);
    expect(stops).toEqual([first.session.runtimeRef]);
  });

  it('ends the session failed and throws launch_failed when the launch fails for good', async () => {
    deps.runtime.failNext = { error: new LaunchError('image not found', false), times: 1 };
    const error = await getOrCreate(deps, { key, agentId: 'a1' }).catch((e: unknown) => e);
    expect((error as SandboxError).code).toBe('launch_failed');
    expect(await deps.store.get(key)).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
  });

  it('keeps the session provisioning and due soon when the launch is throttled', async () => {
    deps.runtime.failNext = { error: throttled(), times: 1 };
    const result = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(result.session.status).toBe('provisioning');
    expect(result.session.dueAt).toBe(deps.clock.now() + deps.config.launchRetrySeconds * 1000);
  });

  it('refuses an unknown profile', async () => {
    const error = await getOrCreate(deps, { key, agentId: 'a1', profile: 'gpu' }).catch((e: unknown) => e);
    expect((error as SandboxError).code).toBe('unknown_profile');
  });
});
