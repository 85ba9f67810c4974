import { beforeEach, describe, expect, it } from 'vitest';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey } from '../../src/core/model.js';
import { reconcile, withLease } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { keepalive } from '../../src/core/sandbox-ops.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

const key: ChatKey = { tenant: 't1', chatId: '55555555-5555-4555-8555-555555555555' };
const MINUTE = 60_000;

describe('reconcile', () => {
  let deps: ReturnType<typeof coreDeps>;
  const pass = () => reconcile(deps, { holder: 'test' });

  /** A running sandbox whose runtime reported it up. */
  async function runningSandbox(idleTimeoutSeconds = 60) {
    const { session } = await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds });
    deps.runtime.markRunning(session.runtimeRef!);
    await onRuntimeEvent(deps, {
      kind: 'running',
      ...key,
      sessionId: session.sessionId,
      ref: session.runtimeRef!,
      endpoint: { host: '10.0.0.1', port: 8000 },
    });
    return (await deps.store.get(key))!;
  }

  beforeEach(async () => {
    deps = coreDeps((await createTestTable()).store);
  });

  it('does nothing when nothing is due', async () => {
    await runningSandbox();
    const before = await deps.store.get(key);
    const summary = await pass();
    expect(summary).toMatchObject({ ran: true, examined: 0, orphansStopped: 0, errors: 0 });
    expect(await deps.store.get(key)).toEqual(before);
  });

  it('stops an expired sandbox, then records it stopped once the task is gone', async () => {
    const session = await runningSandbox(60);
    deps.clock.advance(61_000);
    expect(await pass()).toMatchObject({ expired: 1 });
    expect(await deps.store.get(key)).toMatchObject({ status: 'stopping', stopReason: 'expired' });
    expect(deps.runtime.tasks.get(session.runtimeRef!)?.stopRequests).toBe(1);

    deps.clock.advance(deps.config.stopGraceSeconds * 1000);
    expect(await pass()).toMatchObject({ finished: 1 });
    const stopped = await deps.store.get(key);
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'expired', dueAt: null, endpoint: null });
    expect(stopped!.ttl).toBe(Math.floor(deps.clock.now() / 1000) + deps.config.retentionSeconds);
  });

  it('re-arms a sandbox that a keepalive moved past its due time, in one write', async () => {
    await runningSandbox(60);
    deps.clock.advance(50_000);
    const touched = await keepalive(deps, key);
    deps.clock.advance(15_000);
    expect(await pass()).toMatchObject({ rearmed: 1, expired: 0 });
    // Due again when the new expiry is to be announced: half the 60 s idle timeout before it.
    expect(await deps.store.get(key)).toMatchObject({ status: 'running', dueAt: touched.expiresAt - 30_000 });
  });

  it('ends a running sandbox whose task died while its stopped event was lost', async () => {
    const session = await runningSandbox(60);
    deps.clock.advance(50_000);
    await keepalive(deps, key);
    // The task dies; nobody tells the control plane.
    deps.runtime.tasks.get(session.runtimeRef!)!.state = { status: 'stopped', reason: 'OutOfMemoryError' };
    deps.clock.advance(15_000);
    expect(await pass()).toMatchObject({ finished: 1, rearmed: 0 });
    expect(await deps.store.get(key)).toMatchObject({
      status: 'stopped',
      stopReason: 'exited',
      statusDetail: 'OutOfMemoryError',
    });
  });

  it.each([
    ['a keepalive', (deps: ReturnType<typeof coreDeps>) => keepalive(deps, key, 60)],
    [
      'a reuse',
      (deps: ReturnType<typeof coreDeps>) =>
        getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 60 }),
    ],
  ])('stops a sandbox on time after %s shortens its idle timeout', async (_name, shorten) => {
    await runningSandbox(3600);
    deps.clock.advance(10_000);
    await shorten(deps);
    deps.clock.advance(60_000);
    expect(await pass()).toMatchObject({ expired: 1 });
    expect(await deps.store.get(key)).toMatchObject({ status: 'stopping', stopReason: 'expired' });
  });

  it('changes nothing when run twice', async () => {
    await runningSandbox(60);
    deps.clock.advance(61_000);
    await pass();
    const afterFirst = await deps.store.get(key);
    const second = await pass();
    expect(second).toMatchObject({ examined: 0, expired: 0, finished: 0, orphansStopped: 0 });
    expect(await deps.store.get(key)).toEqual(afterFirst);
  });

  it('stops an orphan task that is not its chat current session', async () => {
    await runningSandbox();
    const orphan = await deps.runtime.launch({
      tenant: key.tenant,
      chatId: key.chatId,
      sessionId: 'not-the-current-session',
      agentId: 'a1',
      profile: 'default',
      env: {},
    });
    const stray = await deps.runtime.launch({
      tenant: 't9',
      chatId: '66666666-6666-4666-8666-666666666666',
      sessionId: 'no-session-at-all',
      agentId: 'a1',
      profile: 'default',
      env: {},
    });
    expect(await pass()).toMatchObject({ orphansStopped: 2 });
    expect(deps.runtime.tasks.get(orphan.ref)?.state.status).toBe('stopped');
    expect(deps.runtime.tasks.get(stray.ref)?.state.status).toBe('stopped');
    expect(deps.runtime.running()).toHaveLength(1);
    expect((await pass()).orphansStopped).toBe(0);
  });

  it('sweeps more tasks than one batch read holds and stops exactly the orphans', async () => {
    const current = await runningSandbox();
    for (let i = 0; i < 130; i += 1) {
      await deps.runtime.launch({
        tenant: 't2',
        chatId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        sessionId: `orphan-${i}`,
        agentId: 'a1',
        profile: 'default',
        env: {},
      });
    }
    expect(await pass()).toMatchObject({ orphansStopped: 130 });
    expect(deps.runtime.running().map((task) => task.ref)).toEqual([current.runtimeRef]);
  });

  it('finishes a stuck stopping session once the stop attempts are spent', async () => {
    const session = await runningSandbox(60);
    deps.clock.advance(61_000);
    await pass();
    // The task ignores every stop.
    deps.runtime.stop = async () => {};
    deps.runtime.markRunning(session.runtimeRef!);
    for (let attempt = 1; attempt < deps.config.maxStopAttempts; attempt += 1) {
      deps.clock.advance(deps.config.stopGraceSeconds * 1000);
      expect(await pass()).toMatchObject({ stopRetried: 1 });
    }
    deps.clock.advance(deps.config.stopGraceSeconds * 1000);
    expect(await pass()).toMatchObject({ finished: 1 });
    expect(await deps.store.get(key)).toMatchObject({ status: 'stopped', stopReason: 'expired' });
  });

  it('promotes a provisioning session whose task runs though its event was lost', async () => {
    const { session } = await getOrCreate(deps, { key, agentId: 'a1' });
    deps.runtime.markRunning(session.runtimeRef!);
    deps.clock.advance(deps.config.launchLeaseSeconds * 1000);
    expect(await pass()).toMatchObject({ promoted: 1 });
    expect(await deps.store.get(key)).toMatchObject({
      status: 'running',
      endpoint: { host: '10.0.0.1', port: 8000 },
    });
  });

  it('fails a session that is still provisioning at the provisioning timeout and stops its task', async () => {
    const { session } = await getOrCreate(deps, { key, agentId: 'a1', idleTimeoutSeconds: 3600 });
    for (let t = 0; t < deps.config.provisioningTimeoutSeconds; t += deps.config.launchLeaseSeconds) {
      deps.clock.advance(deps.config.launchLeaseSeconds * 1000);
      await pass();
    }
    expect(await deps.store.get(key)).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
    expect(deps.runtime.tasks.get(session.runtimeRef!)?.state.status).toBe('stopped');
  });

  it('goes on sweeping when one orphan cannot be stopped, and counts the error', async () => {
    await runningSandbox();
    for (const sessionId of ['orphan-a', 'orphan-b']) {
      await deps.runtime.launch({ ...key, sessionId, agentId: 'a1', profile: 'default', env: {} });
    }
    const stop = deps.runtime.stop.bind(deps.runtime);
    deps.runtime.stop = async (ref, reason) => {
      if (ref === 'task/orphan-a') throw new Error('ThrottlingException');
      await stop(ref, reason);
    };
    expect(await pass()).toMatchObject({ orphansStopped: 1, errors: 1 });
    expect(deps.runtime.tasks.get('task/orphan-b')?.state.status).toBe('stopped');
  });

  it('runs work under the lease, so no other holder gets it meanwhile, and lets it go after', async () => {
    const lease = {
      name: 'reconciler',
      holder: 'test',
      now: deps.clock.now(),
      until: deps.clock.now() + MINUTE,
    };
    const otherHolderGotTheLease = await withLease(deps.store, lease, () =>
      deps.store.acquireLease('reconciler', 'other', deps.clock.now(), deps.clock.now() + 1),
    );
    expect(otherHolderGotTheLease).toBe(false);
    expect(await withLease(deps.store, { ...lease, holder: 'next' }, async () => 'ran')).toBe('ran');
    // Held by another: the work does not run.
    await deps.store.acquireLease('reconciler', 'other', deps.clock.now(), deps.clock.now() + MINUTE);
    expect(await withLease(deps.store, lease, async () => 'ran')).toBeNull();
  });

  it('stops a task no session names once it is older than the stranger grace', async () => {
    deps.runtime.strangers.push(
      { ref: 'task/old-stranger', startedAt: deps.clock.now() - 181_000, label: 'hand-started' },
      { ref: 'task/young-stranger', startedAt: deps.clock.now() - 1_000, label: null },
    );
    expect(await pass()).toMatchObject({ strangersStopped: 1 });
    expect([...deps.runtime.stopped]).toEqual(['task/old-stranger']);
    expect(await pass()).toMatchObject({ strangersStopped: 0 });
  });

  it('skips a pass while another holder has the lease', async () => {
    await deps.store.acquireLease('reconciler', 'other', deps.clock.now(), deps.clock.now() + MINUTE);
    expect(await pass()).toMatchObject({ ran: false });
  });

  it('stops taking new work at the deadline and says so', async () => {
    await runningSandbox(60);
    deps.clock.advance(61_000);
    const summary = await reconcile(deps, { holder: 'test', deadline: deps.clock.now() });
    expect(summary).toMatchObject({ truncated: true, expired: 0 });
  });
});
