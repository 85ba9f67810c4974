/**
 * Owners, live-sandbox limits and the usage ledger, through core on DynamoDB Local: every path that
 * takes or gives back capacity, and crashes at each step repaired by one reconcile pass.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import type { DynamoSessionStore } from '../../src/adapters/dynamodb/session-store.js';
import { LaunchError, SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey } from '../../src/core/model.js';
import { limitsOf, ownerScope, TAKE_WINDOW_MS, takeCapacity, tenantScope } from '../../src/core/quotas.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { usageReport } from '../../src/core/usage.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps } from '../support/fakes.js';

const TENANT = 'acme';
const chat = (n: number): ChatKey => ({
  tenant: TENANT,
  chatId: `66666666-6666-4666-8666-${String(n).padStart(12, '0')}`,
});

async function rejection(promise: Promise<unknown>): Promise<SandboxError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SandboxError);
  return error as SandboxError;
}

describe('owners and quotas', () => {
  let store: DynamoSessionStore;
  let quotas: DynamoQuotaStore;
  let deps: ReturnType<typeof coreDeps>;
  const make = (config: { tenantMaxLive?: number; ownerMaxLive?: number } = {}) =>
    coreDeps(store, {
      quotas,
      config: {
        quotas: {
          tenantMaxLive: config.tenantMaxLive ?? 3,
          ownerMaxLive: config.ownerMaxLive ?? 2,
          repairGraceSeconds: 60,
        },
        profileSizes: { default: { vcpu: 0.5, memoryGiB: 1 } },
      },
    });
  const live = (scope: Parameters<DynamoQuotaStore['count']>[0]) => quotas.count(scope);
  const running = async (key: ChatKey) => {
    const session = (await store.get(key))!;
    await onRuntimeEvent(deps, {
      kind: 'running',
      tenant: key.tenant,
      chatId: key.chatId,
      sessionId: session.sessionId,
      ref: session.runtimeRef!,
      endpoint: { host: '10.0.0.1', port: 8000 },
    });
  };
  const stopped = async (key: ChatKey) => {
    const session = (await store.get(key))!;
    await onRuntimeEvent(deps, {
      kind: 'stopped',
      tenant: key.tenant,
      chatId: key.chatId,
      sessionId: session.sessionId,
      ref: session.runtimeRef!,
      reason: 'exited with code 0',
    });
  };

  beforeEach(async () => {
    const table = await createTestTable();
    store = table.store;
    quotas = new DynamoQuotaStore(table.client, table.tableName);
    deps = make();
  });

  it('gives a chat to the owner of its first sandbox, keeps it, and refuses another owner with 409', async () => {
    const created = await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    expect(created.session.ownerId).toBe('alice');
    expect(await quotas.getChat(chat(1))).toMatchObject({ ownerId: 'alice' });

    const other = await rejection(getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'bob' }));
    expect(other.code).toBe('owner_conflict');

    // Ended and created again without naming an owner: still alice's, and counted as hers.
    await deleteSandbox(deps, chat(1));
    await stopped(chat(1));
    const again = await getOrCreate(deps, { key: chat(1), agentId: 'a' });
    expect(again.session.ownerId).toBe('alice');
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    await expect(
      rejection(getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'bob' })),
    ).resolves.toMatchObject({
      code: 'owner_conflict',
    });
  });

  it('refuses a create over the tenant limit with 429 naming it, starting and changing nothing', async () => {
    for (const n of [1, 2, 3]) await getOrCreate(deps, { key: chat(n), agentId: 'a' });
    const refused = await rejection(getOrCreate(deps, { key: chat(4), agentId: 'a' }));
    expect(refused.code).toBe('quota_exceeded');
    expect(refused.options.extra).toEqual({ limit: { scope: 'tenant', max: 3, current: 3 } });
    expect(refused.options.retryAfterSeconds).toBeGreaterThan(0);
    expect(deps.runtime.launches).toBe(3);
    expect(await store.get(chat(4))).toBeNull();
    expect(await live(tenantScope(TENANT))).toBe(3);
    // An owner's create refused at the tenant's limit gives the owner's unit back.
    await rejection(getOrCreate(deps, { key: chat(4), agentId: 'a', ownerId: 'carol' }));
    expect(await live(ownerScope(TENANT, 'carol'))).toBe(0);
    expect(await quotas.getChat(chat(4))).toBeNull();
  });

  it('refuses a create over the owner limit before it takes any unit of the tenant', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await getOrCreate(deps, { key: chat(2), agentId: 'a', ownerId: 'alice' });
    const refused = await rejection(getOrCreate(deps, { key: chat(3), agentId: 'a', ownerId: 'alice' }));
    expect(refused.options.extra).toEqual({ limit: { scope: 'owner', max: 2, current: 2 } });
    expect(await live(tenantScope(TENANT))).toBe(2);
    expect(await quotas.getChat(chat(3))).toBeNull();
    // Another owner still fits under the tenant's limit.
    await getOrCreate(deps, { key: chat(3), agentId: 'a', ownerId: 'bob' });
    expect(await live(tenantScope(TENANT))).toBe(3);
  });

  it('counts a reused sandbox once, and the reuse costs no capacity write', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await getOrCreate(deps, { key: chat(1), agentId: 'a' });
    expect(await live(tenantScope(TENANT))).toBe(1);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
  });

  it.each([
    [
      'a delete',
      async (key: ChatKey) => {
        await deleteSandbox(deps, key);
        await stopped(key);
      },
    ],
    [
      'an exit',
      async (key: ChatKey) => {
        await running(key);
        await stopped(key);
      },
    ],
    [
      'an expiry',
      async (key: ChatKey) => {
        await running(key);
        deps.clock.advance(3_600_000);
        await reconcile(deps, { holder: 'test' });
        await stopped(key);
      },
    ],
  ])('gives the unit back when %s ends the sandbox, stopping included', async (_name, end) => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice', idleTimeoutSeconds: 60 });
    await end(chat(1));
    expect((await store.get(chat(1)))?.status).toBe('stopped');
    expect(await live(tenantScope(TENANT))).toBe(0);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect((await store.get(chat(1)))?.settledAt).not.toBeNull();
  });

  it('holds the unit while a sandbox is stopping', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await deleteSandbox(deps, chat(1));
    expect((await store.get(chat(1)))?.status).toBe('stopping');
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
  });

  it('gives the unit back when the launch fails', async () => {
    deps.runtime.failNext = { error: new LaunchError('image not found', false), times: 1 };
    await rejection(getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' }));
    expect(await live(tenantScope(TENANT))).toBe(0);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
  });

  it('gives the unit back when a launch never comes up and the provisioning timeout fails it', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    // The task stays pending past the provisioning timeout.
    deps.clock.advance(deps.config.provisioningTimeoutSeconds * 1000 + 1);
    await reconcile(deps, { holder: 'test' });
    expect((await store.get(chat(1)))?.status).toBe('failed');
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it("lets a session that replaces an expired, still-live predecessor take over the chat's unit", async () => {
    deps = make({ tenantMaxLive: 1, ownerMaxLive: 1 });
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice', idleTimeoutSeconds: 60 });
    await running(chat(1));
    deps.clock.advance(61_000);
    // Expired, not yet stopped by the reconciler: a new create replaces it within the limit of 1.
    const replaced = await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    expect(replaced.created).toBe(true);
    expect(await live(tenantScope(TENANT))).toBe(1);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
  });

  it('gives back, in one pass after the grace, a unit a crash left between the take and the claim', async () => {
    const limits = await limitsOf(deps, TENANT);
    await takeCapacity(deps, chat(1), 'alice', 'crashed-session', limits);
    expect(await live(tenantScope(TENANT))).toBe(1);
    // Within the grace a take is presumed in flight and kept.
    await reconcile(deps, { holder: 'test' });
    expect(await live(tenantScope(TENANT))).toBe(1);
    deps.clock.advance(61_000);
    const summary = await reconcile(deps, { holder: 'test' });
    expect(summary.unitsRecovered).toBe(2);
    expect(await live(tenantScope(TENANT))).toBe(0);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    // Nothing left to recount: the next pass reads no capacity item.
    expect((await reconcile(deps, { holder: 'test' })).unitsRecovered).toBe(0);
  });

  it('gives back a unit a dead create left under its own token, once the chat’s session has ended', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    // A create of the same chat, stalled past the take window, took the unit over with its own
    // token, then lost the claim and died before handing it over.
    deps.clock.advance(TAKE_WINDOW_MS + 1);
    await takeCapacity(deps, chat(1), 'alice', 'loser-session', await limitsOf(deps, TENANT));
    // A pass after the grace keeps it (the chat's session is live) and leaves the scope at rest.
    deps.clock.advance(61_000);
    expect((await reconcile(deps, { holder: 'test' })).unitsRecovered).toBe(0);
    const due = async () => {
      const scopes = [];
      for await (const state of quotas.listDue(deps.clock.now())) scopes.push(state.scope);
      return scopes;
    };
    expect(await due()).toEqual([]);

    // The winner ends: its release finds another token, keeps the unit and marks the scope due.
    await deleteSandbox(deps, chat(1));
    await stopped(chat(1));
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    expect(await due()).toHaveLength(2);
    const summary = await reconcile(deps, { holder: 'test' });
    expect(summary.unitsRecovered).toBe(2);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it('hands the units of creates that lost a race for a chat to the winner, so its end frees them', async () => {
    deps = make({ tenantMaxLive: 100, ownerMaxLive: 100 });
    const chats = [1, 2, 3, 4, 5].map(chat);
    await Promise.all(
      chats.flatMap((key) =>
        Array.from({ length: 8 }, () => getOrCreate(deps, { key, agentId: 'a', ownerId: 'alice' })),
      ),
    );
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(5);
    for (const key of chats) {
      await deleteSandbox(deps, key);
      await stopped(key);
    }
    // No recount needed: every unit was held with the token of the session that ended.
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it('waits for another create of the chat between its take and its claim, and takes over from one that died', async () => {
    // A create took the chat's units and then died before its claim.
    await takeCapacity(deps, chat(1), 'alice', 'dead-session', await limitsOf(deps, TENANT));
    const busy = await rejection(getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' }));
    expect(busy.code).toBe('capacity_unavailable');
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    // Past the take window the dead create's units are taken over: still one unit per scope.
    deps.clock.advance(TAKE_WINDOW_MS);
    const { created, session } = await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    expect(created).toBe(true);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    expect(await live(tenantScope(TENANT))).toBe(1);
    // And they are the new session's: its end frees them without a recount.
    await deleteSandbox(deps, chat(1));
    await onRuntimeEvent(deps, {
      kind: 'stopped',
      ...chat(1),
      sessionId: session.sessionId,
      ref: session.runtimeRef!,
      reason: 'stopped',
    });
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it('recounts a scope that is taken from all the time, within one pass after the grace', async () => {
    deps = make({ tenantMaxLive: 100, ownerMaxLive: 100 });
    await takeCapacity(deps, chat(1), 'alice', 'crashed-session', await limitsOf(deps, TENANT));
    // A create every 20 s keeps taking from the same two scopes.
    for (let n = 2; n <= 5; n += 1) {
      deps.clock.advance(20_000);
      await getOrCreate(deps, { key: chat(n), agentId: 'a', ownerId: 'alice' });
      await reconcile(deps, { holder: 'test' });
    }
    // 80 s after the crash (grace 60 s) its unit is back; the four live sandboxes keep theirs.
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(4);
    expect(await live(tenantScope(TENANT))).toBe(4);
  });

  it('keeps the unit of a session a crash left after the claim and before the launch', async () => {
    const crashing = coreDeps(store, {
      quotas,
      clock: deps.clock,
      config: deps.config,
      runtime: deps.runtime,
    });
    crashing.runtime.failNext = { error: new Error('process died'), times: 1 };
    await expect(getOrCreate(crashing, { key: chat(1), agentId: 'a', ownerId: 'alice' })).rejects.toThrow();
    expect((await store.get(chat(1)))?.status).toBe('provisioning');
    deps.clock.advance(200_000);
    await reconcile(deps, { holder: 'test' });
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    expect(deps.runtime.launches).toBe(1);
  });

  it('settles, in one pass, a session that ended while its settling failed', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await running(chat(1));
    deps.clock.advance(100_000);
    const release = quotas.release.bind(quotas);
    quotas.release = async () => {
      throw new Error('connection reset');
    };
    await stopped(chat(1));
    quotas.release = release;
    expect(await store.get(chat(1))).toMatchObject({ status: 'stopped', settledAt: null });
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);

    const summary = await reconcile(deps, { holder: 'test' });
    expect(summary.settled).toBe(1);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    // Settled once: another pass adds nothing.
    await reconcile(deps, { holder: 'test' });
    const report = await usageReport(deps, TENANT, { ownerId: 'alice' });
    expect(report.days).toEqual([
      { date: '2026-11-22', sessions: 1, sandboxSeconds: 100, vcpuSeconds: 50, gibSeconds: 100 },
    ]);
  });

  it('adds run time and size to the owner and tenant ledgers, and a replaced session is counted once', async () => {
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice', idleTimeoutSeconds: 60 });
    await running(chat(1));
    deps.clock.advance(61_000); // expired but live
    await getOrCreate(deps, { key: chat(1), agentId: 'a' }); // replaces it; carries its 61 s
    await running(chat(1));
    deps.clock.advance(30_000);
    await deleteSandbox(deps, chat(1));
    await stopped(chat(1));
    await getOrCreate(deps, { key: chat(2), agentId: 'a' }); // unowned, still running

    const owner = await usageReport(deps, TENANT, { ownerId: 'alice', from: '2026-11-20', to: '2026-11-22' });
    expect(owner.owner).toEqual({ ownerId: 'alice', live: 0, limit: 2 });
    expect(owner.days).toEqual([
      { date: '2026-11-22', sessions: 2, sandboxSeconds: 91, vcpuSeconds: 45.5, gibSeconds: 91 },
    ]);
    const tenant = await usageReport(deps, TENANT, {});
    expect(tenant.tenant).toEqual({ live: 1, limit: 3 });
    expect(tenant.days).toEqual(owner.days);
  });

  it('keeps the run time of a whole chain of replacements none of which was settled', async () => {
    // Reset twice: a delete, then at once a create that replaces the stopping session.
    for (const seconds of [100, 50]) {
      await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
      await running(chat(1));
      deps.clock.advance(seconds * 1000);
      await deleteSandbox(deps, chat(1));
    }
    await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    await running(chat(1));
    deps.clock.advance(10_000);
    await deleteSandbox(deps, chat(1));
    await stopped(chat(1));
    const report = await usageReport(deps, TENANT, { ownerId: 'alice' });
    expect(report.days).toEqual([
      { date: '2026-11-22', sessions: 3, sandboxSeconds: 160, vcpuSeconds: 80, gibSeconds: 160 },
    ]);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
  });

  it('gives its units back and goes round when it stalls past the take window before its claim', async () => {
    const take = quotas.take.bind(quotas);
    const tenantTokens: string[] = [];
    quotas.take = async (scope, chatId, token, options) => {
      const result = await take(scope, chatId, token, options);
      if (scope.kind === 'tenant') {
        tenantTokens.push(token);
        // The first round stalls here, long enough for another create to take its units over.
        if (tenantTokens.length === 1) deps.clock.advance(TAKE_WINDOW_MS + 1);
      }
      return result;
    };
    const { created, session } = await getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' });
    expect(created).toBe(true);
    expect(tenantTokens).toHaveLength(2);
    expect(tenantTokens[1]!.startsWith(`${session.sessionId}@`)).toBe(true);
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(1);
    // The units are the second round's, so the session's end frees them.
    await deleteSandbox(deps, chat(1));
    await stopped(chat(1));
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it("gives the owner's unit back when the tenant's take fails outright", async () => {
    const take = quotas.take.bind(quotas);
    quotas.take = async (scope, chatId, token, options) => {
      if (scope.kind === 'tenant') throw new Error('throttled');
      return take(scope, chatId, token, options);
    };
    await expect(getOrCreate(deps, { key: chat(1), agentId: 'a', ownerId: 'alice' })).rejects.toThrow(
      'throttled',
    );
    expect(await live(ownerScope(TENANT, 'alice'))).toBe(0);
  });

  it('recounts capacity even when the orphan sweep cannot list the runtime', async () => {
    await takeCapacity(deps, chat(1), 'alice', 'crashed-session', await limitsOf(deps, TENANT));
    deps.runtime.inventory = async () => {
      throw new Error('ListTasks throttled');
    };
    deps.clock.advance(61_000);
    const summary = await reconcile(deps, { holder: 'test' });
    expect(summary.unitsRecovered).toBe(2);
    expect(summary.errors).toBe(1);
    expect(await live(tenantScope(TENANT))).toBe(0);
  });

  it("applies a tenant's own limits, set by the operator, over the defaults", async () => {
    await quotas.setLimits(TENANT, { maxLiveSandboxes: 1 });
    const fresh = make(); // no cached limits
    await getOrCreate(fresh, { key: chat(1), agentId: 'a' });
    await expect(rejection(getOrCreate(fresh, { key: chat(2), agentId: 'a' }))).resolves.toMatchObject({
      options: { extra: { limit: { scope: 'tenant', max: 1, current: 1 } } },
    });
  });
});
