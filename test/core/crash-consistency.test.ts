import { beforeEach, describe, expect, it } from 'vitest';
import { LaunchError, type SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey } from '../../src/core/model.js';
import { reconcile } from '../../src/core/reconcile.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps, T0, throttled } from '../support/fakes.js';

const key: ChatKey = { tenant: 't1', chatId: '77777777-7777-4777-8777-777777777777' };

describe('crash consistency', () => {
  let deps: ReturnType<typeof coreDeps>;
  const pass = () => reconcile(deps, { holder: 'test' });
  const pastLease = () => deps.clock.advance(deps.config.launchLeaseSeconds * 1000);

  beforeEach(async () => {
    deps = coreDeps((await createTestTable()).store);
  });

  it('leaves a launch that throws provisioning, and the reconciler launches it again with the same session id', async () => {
    deps.runtime.failNext = { error: new Error('socket hang up'), times: 1 };
    await expect(getOrCreate(deps, { key, agentId: 'a1' })).rejects.toThrow('socket hang up');
    const stuck = await deps.store.get(key);
    expect(stuck).toMatchObject({ status: 'provisioning', runtimeRef: null });

    pastLease();
    expect(await pass()).toMatchObject({ relaunched: 1 });
    const relaunched = await deps.store.get(key);
    expect(relaunched).toMatchObject({
      status: 'provisioning',
      runtimeRef: `task/${stuck!.sessionId}`,
      launchAttempts: 1,
    });
    expect(deps.runtime.launches).toBe(1);
  });

  it('stops the task it just launched when a concurrent delete wins the record step', async () => {
    deps.runtime.onLaunch = async () => {
      deps.runtime.onLaunch = null;
      await deleteSandbox(deps, key);
    };
    const result = await getOrCreate(deps, { key, agentId: 'a1' });
    expect(result.session).toMatchObject({ status: 'stopping', stopReason: 'deleted', runtimeRef: null });
    expect(deps.runtime.running()).toHaveLength(0);
    pastLease();
    deps.clock.advance(deps.config.stopGraceSeconds * 1000);
    await pass();
    expect(await deps.store.get(key)).toMatchObject({ status: 'stopped', stopReason: 'deleted' });
  });

  it("never answers another agent's session when the chat is deleted and re-created during a launch", async () => {
    deps.runtime.onLaunch = async () => {
      deps.runtime.onLaunch = null;
      await deleteSandbox(deps, key);
      await getOrCreate(deps, { key, agentId: 'a2' });
    };
    const error = await getOrCreate(deps, { key, agentId: 'a1' }).catch((e: unknown) => e);
    expect((error as SandboxError).code).toBe('sandbox_conflict');
    expect(await deps.store.get(key)).toMatchObject({ agentId: 'a2', status: 'provisioning' });
    // The task a1's call launched was stopped when its record step lost.
    expect(deps.runtime.running().map((task) => task.spec.agentId)).toEqual(['a2']);
  });

  it('finishes a claim a crash left provisioning before any launch', async () => {
    deps.runtime.launch = async () => {
      throw new Error('process crashed here');
    };
    await getOrCreate(deps, { key, agentId: 'a1' }).catch(() => undefined);
    const { FakeRuntime } = await import('../support/fakes.js');
    const healthy = new FakeRuntime(deps.clock);
    deps = { ...deps, runtime: healthy };
    pastLease();
    expect(await pass()).toMatchObject({ relaunched: 1 });
    expect(healthy.launches).toBe(1);
    healthy.markRunning([...healthy.tasks.keys()][0]!);
    pastLease();
    expect(await pass()).toMatchObject({ promoted: 1 });
    expect(await deps.store.get(key)).toMatchObject({ status: 'running' });
  });

  it('fails a claim left provisioning when every relaunch fails, with nothing running', async () => {
    deps.runtime.failNext = { error: new Error('crash'), times: 1 };
    await getOrCreate(deps, { key, agentId: 'a1' }).catch(() => undefined);
    deps.runtime.failNext = { error: new LaunchError('image not found', false), times: 10 };
    pastLease();
    expect(await pass()).toMatchObject({ failed: 1 });
    expect(await deps.store.get(key)).toMatchObject({
      status: 'failed',
      stopReason: 'launch_failed',
      dueAt: null,
    });
    expect(deps.runtime.running()).toHaveLength(0);
  });

  it('fails a claim whose launch keeps throwing once the provisioning timeout has passed', async () => {
    deps.runtime.failNext = { error: new Error('crash'), times: 100 };
    await getOrCreate(deps, { key, agentId: 'a1' }).catch(() => undefined);
    while (deps.clock.now() - T0 < deps.config.provisioningTimeoutSeconds * 1000) {
      expect(await deps.store.get(key)).toMatchObject({ status: 'provisioning' });
      pastLease();
      await pass();
    }
    expect(await deps.store.get(key)).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
  });

  it('keeps retrying a throttled launch until it is accepted, without spending launch attempts', async () => {
    deps.runtime.failNext = { error: throttled(), times: 5 };
    await getOrCreate(deps, { key, agentId: 'a1' });
    for (let retry = 0; retry < 5; retry += 1) {
      deps.clock.advance(deps.config.launchRetrySeconds * 1000);
      await pass();
    }
    expect(await deps.store.get(key)).toMatchObject({ status: 'provisioning', launchAttempts: 1 });
    expect(deps.runtime.launches).toBe(1);
  });

  it('fails a session whose accepted launches keep leaving no task', async () => {
    await getOrCreate(deps, { key, agentId: 'a1' });
    for (let attempt = 0; attempt < deps.config.maxLaunchAttempts; attempt += 1) {
      deps.runtime.tasks.clear();
      pastLease();
      await pass();
    }
    expect(await deps.store.get(key)).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
  });
});
