import { beforeEach, describe, expect, it } from 'vitest';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey, Session } from '../../src/core/model.js';
import type { RuntimeEvent } from '../../src/core/ports.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

const key: ChatKey = { tenant: 't1', chatId: '88888888-8888-4888-8888-888888888888' };
const endpoint = { host: '10.0.0.9', port: 8000 };

describe('onRuntimeEvent', () => {
  let deps: ReturnType<typeof coreDeps>;
  let session: Session;
  const running = (version?: number): RuntimeEvent => ({
    kind: 'running',
    ...key,
    sessionId: session.sessionId,
    ref: session.runtimeRef!,
    endpoint,
    ...(version === undefined ? {} : { version }),
  });
  const stopped = (version?: number): RuntimeEvent => ({
    kind: 'stopped',
    ...key,
    sessionId: session.sessionId,
    ref: session.runtimeRef!,
    reason: 'Essential container in task exited',
    ...(version === undefined ? {} : { version }),
  });

  beforeEach(async () => {
    deps = coreDeps((await createTestTable()).store);
    session = (await getOrCreate(deps, { key, agentId: 'a1' })).session;
  });

  it('makes a provisioning session running with its endpoint, due when its expiry is to be announced', async () => {
    expect(await onRuntimeEvent(deps, running(2))).toBe('applied');
    expect(await deps.store.get(key)).toMatchObject({
      status: 'running',
      endpoint,
      dueAt: session.expiresAt - deps.config.expiringLeadSeconds * 1000,
      runtimeEventVersion: 2,
    });
  });

  it('starts the idle timer when the sandbox is running, not when it was claimed', async () => {
    deps.clock.advance(100_000);
    await onRuntimeEvent(deps, running(2));
    const expiresAt = deps.clock.now() + session.idleTimeoutSeconds * 1000;
    expect(await deps.store.get(key)).toMatchObject({
      status: 'running',
      expiresAt,
      dueAt: expiresAt - deps.config.expiringLeadSeconds * 1000,
    });
  });

  it('ends a running session stopped with reason exited', async () => {
    await onRuntimeEvent(deps, running(2));
    expect(await onRuntimeEvent(deps, stopped(3))).toBe('applied');
    expect(await deps.store.get(key)).toMatchObject({
      status: 'stopped',
      stopReason: 'exited',
      statusDetail: 'Essential container in task exited',
      dueAt: null,
    });
  });

  it('fails a session whose task stopped before it ever ran', async () => {
    await onRuntimeEvent(deps, stopped(2));
    expect(await deps.store.get(key)).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
  });

  it('keeps the stop reason of a session that was being stopped', async () => {
    await onRuntimeEvent(deps, running(2));
    await deleteSandbox(deps, key);
    await onRuntimeEvent(deps, stopped(3));
    expect(await deps.store.get(key)).toMatchObject({ status: 'stopped', stopReason: 'deleted' });
  });

  it('ignores an event whose version is not newer than the last applied one', async () => {
    await onRuntimeEvent(deps, running(3));
    const after = await deps.store.get(key);
    // Either would end the running session if its version were not checked.
    expect(await onRuntimeEvent(deps, stopped(3))).toBe('ignored');
    expect(await onRuntimeEvent(deps, stopped(2))).toBe('ignored');
    expect(await deps.store.get(key)).toEqual(after);
  });

  it('stops a task reported running for a session that is no longer the chat current one', async () => {
    await onRuntimeEvent(deps, stopped(2));
    const stray = { ...running(3), sessionId: 'an-old-session', ref: 'task/an-old-session' };
    await deps.runtime.launch({
      ...key,
      sessionId: 'an-old-session',
      agentId: 'a1',
      profile: 'default',
      env: {},
    });
    expect(await onRuntimeEvent(deps, stray)).toBe('stopped_stray_task');
    expect(deps.runtime.tasks.get('task/an-old-session')?.state.status).toBe('stopped');
  });

  it('ignores a stopped event for another session', async () => {
    const before = await deps.store.get(key);
    expect(await onRuntimeEvent(deps, { ...stopped(5), sessionId: 'someone-else' })).toBe('ignored');
    expect(await deps.store.get(key)).toEqual(before);
  });
});
