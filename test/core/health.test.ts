/**
 * Readiness: a sandbox of a profile with a health check becomes `running` only once the runtime
 * reports the check passed, and one that never passes ends `failed` (`unhealthy`) at the
 * provisioning timeout; a profile without one is running as soon as its task runs.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey, Session } from '../../src/core/model.js';
import type { TaskHealth } from '../../src/core/ports.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

const key: ChatKey = { tenant: 'acme', chatId: '55555555-5555-4555-8555-000000000001' };
const endpoint = { host: '10.0.0.9', port: 8080 };

describe('health checks', () => {
  let deps: ReturnType<typeof coreDeps>;
  let session: Session;
  const running = (health: TaskHealth | undefined, version: number) =>
    onRuntimeEvent(deps, {
      kind: 'running',
      ...key,
      sessionId: session.sessionId,
      ref: session.runtimeRef!,
      endpoint,
      version,
      ...(health ? { health } : {}),
    });

  beforeEach(async () => {
    const table = await createTestTable();
    deps = coreDeps(table.store, {
      config: { profiles: ['default', 'checked'], healthCheckedProfiles: ['checked'] },
    });
  });

  it('keeps a sandbox provisioning while its health check has not passed, then makes it running', async () => {
    session = (await getOrCreate(deps, { key, agentId: 'a', profile: 'checked' })).session;
    expect(await running('starting', 2)).toBe('waiting_for_health');
    expect(await deps.store.get(key)).toMatchObject({
      status: 'provisioning',
      endpoint: null,
      statusDetail: 'waiting for the health check to pass',
      dueAt: deps.clock.now() + deps.config.launchRetrySeconds * 1000,
    });
    // The same event again changes nothing; a later one with the check passed promotes.
    expect(await running('starting', 2)).toBe('ignored');
    expect(await running('healthy', 3)).toBe('applied');
    expect(await deps.store.get(key)).toMatchObject({ status: 'running', endpoint, statusDetail: null });
  });

  it('makes a sandbox without a health check running at once, whatever health the runtime reports', async () => {
    session = (await getOrCreate(deps, { key, agentId: 'a' })).session;
    expect(await running('starting', 2)).toBe('applied');
    expect((await deps.store.get(key))?.status).toBe('running');
  });

  it('waits through the reconciler while the task is unhealthy, and fails it unhealthy at the timeout', async () => {
    session = (await getOrCreate(deps, { key, agentId: 'a', profile: 'checked' })).session;
    deps.runtime.tasks.get(session.runtimeRef!)!.state = { status: 'running', endpoint, health: 'unhealthy' };
    deps.clock.advance(deps.config.launchLeaseSeconds * 1000);
    expect(await reconcile(deps, { holder: 'test' })).toMatchObject({ rearmed: 1, promoted: 0 });
    expect((await deps.store.get(key))?.status).toBe('provisioning');

    deps.clock.advance(deps.config.provisioningTimeoutSeconds * 1000);
    expect(await reconcile(deps, { holder: 'test' })).toMatchObject({ failed: 1 });
    const failed = await deps.store.get(key);
    expect(failed).toMatchObject({ status: 'failed', stopReason: 'launch_failed' });
    expect(failed?.statusDetail).toMatch(/^unhealthy: the health check did not pass within 600 s$/);
    expect(deps.runtime.tasks.get(session.runtimeRef!)?.stopRequests).toBe(1);
  });

  it('promotes through the reconciler once the runtime reports the check passed', async () => {
    session = (await getOrCreate(deps, { key, agentId: 'a', profile: 'checked' })).session;
    deps.runtime.tasks.get(session.runtimeRef!)!.state = { status: 'running', endpoint, health: 'healthy' };
    deps.clock.advance(deps.config.launchLeaseSeconds * 1000);
    expect(await reconcile(deps, { holder: 'test' })).toMatchObject({ promoted: 1 });
    expect((await deps.store.get(key))?.status).toBe('running');
  });
});
