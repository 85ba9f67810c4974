/**
 * Limits under contention: 1,000 concurrent creates over 100 chats of 20 owners, with an owner limit
 * of 3 and a tenant limit of 50. A monitor reads every chat's session (strongly consistent) all
 * through the run and never sees more live sandboxes than a limit allows; nothing but 429 fails; and
 * once every sandbox has ended, no capacity is left held.
 */
import { describe, expect, it, vi } from 'vitest';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import { SandboxError } from '../../src/core/errors.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import { COUNTED_STATUSES } from '../../src/core/model.js';
import { ownerScope, tenantScope } from '../../src/core/quotas.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { systemClock } from '../../src/core/system.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps, FakeRuntime } from '../support/fakes.js';

const TENANT = 'busy';
const OWNERS = 20;
const CHATS = 100;
const CALLS = 1_000;
const OWNER_LIMIT = 3;
const TENANT_LIMIT = 50;

const chatId = (n: number) => `99999999-9999-4999-8999-${String(n).padStart(12, '0')}`;
const ownerOf = (n: number) => `owner-${n % OWNERS}`;

describe('limits under contention', () => {
  it('never lets an owner or the tenant past its limit, fails nothing but 429, and leaks nothing', {
    timeout: 120_000,
  }, async () => {
    const table = await createTestTable();
    const runtime = new FakeRuntime(systemClock);
    runtime.launchDelayMs = 5;
    const quotas = new DynamoQuotaStore(table.client, table.tableName);
    const deps = coreDeps(table.store, {
      clock: systemClock,
      runtime,
      quotas,
      config: { quotas: { tenantMaxLive: TENANT_LIMIT, ownerMaxLive: OWNER_LIMIT, repairGraceSeconds: 1 } },
    });
    const keys = Array.from({ length: CHATS }, (_, n) => ({ tenant: TENANT, chatId: chatId(n) }));

    let monitoring = true;
    let samples = 0;
    let maxTenant = 0;
    let maxOwner = 0;
    const monitor = (async () => {
      while (monitoring) {
        const sessions = await table.store.getMany(keys);
        const live = sessions.filter((session) => session && COUNTED_STATUSES.includes(session.status));
        const perOwner = new Map<string, number>();
        for (const session of live)
          perOwner.set(session!.ownerId!, (perOwner.get(session!.ownerId!) ?? 0) + 1);
        maxTenant = Math.max(maxTenant, live.length);
        maxOwner = Math.max(maxOwner, ...perOwner.values(), 0);
        samples += 1;
      }
    })();

    // 10 calls per chat in a fixed shuffled order, 100 in flight.
    const order = Array.from({ length: CALLS }, (_, i) => i % CHATS);
    for (let i = order.length - 1; i > 0; i -= 1) {
      const j = (i * 7919 + 13) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const outcomes = { created: 0, reused: 0, refused: 0, other: [] as unknown[] };
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < order.length) {
          const n = order[next++]!;
          try {
            const result = await getOrCreate(deps, { key: keys[n]!, agentId: 'a', ownerId: ownerOf(n) });
            if (result.created) outcomes.created += 1;
            else outcomes.reused += 1;
          } catch (error) {
            if (error instanceof SandboxError && error.code === 'quota_exceeded') outcomes.refused += 1;
            else outcomes.other.push(error);
          }
        }
      }),
    );
    monitoring = false;
    await monitor;

    expect(outcomes.other).toEqual([]);
    expect(outcomes.created + outcomes.reused + outcomes.refused).toBe(CALLS);
    expect(samples).toBeGreaterThan(5);
    expect(maxOwner).toBeLessThanOrEqual(OWNER_LIMIT);
    expect(maxTenant).toBeLessThanOrEqual(TENANT_LIMIT);
    // The limits were reached, not just respected: the tenant's 50 are all in use.
    expect(outcomes.created).toBe(TENANT_LIMIT);
    expect(await quotas.count(tenantScope(TENANT))).toBe(TENANT_LIMIT);

    // Everything ends: every live sandbox deleted and its stop reported.
    for (const key of keys) {
      const deleted = await deleteSandbox(deps, key);
      if (deleted.result !== 'deleted') continue;
      await onRuntimeEvent(deps, {
        kind: 'stopped',
        tenant: TENANT,
        chatId: key.chatId,
        sessionId: deleted.session.sessionId,
        ref: deleted.session.runtimeRef!,
        reason: 'stopped',
      });
    }
    // Units a lost claim left are given back by the recount once the 1 s grace is over.
    await vi.waitFor(
      async () => {
        await reconcile(deps, { holder: 'test' });
        expect(await quotas.count(tenantScope(TENANT))).toBe(0);
        for (let owner = 0; owner < OWNERS; owner += 1) {
          expect(await quotas.count(ownerScope(TENANT, `owner-${owner}`))).toBe(0);
        }
      },
      { timeout: 20_000, interval: 250 },
    );
  });
});
