/**
 * Figure 7: owners and live-sandbox limits. Limits under contention (a monitor samples the table
 * all through), what a refused create and an owned reuse cost, and create latency with quotas
 * against the same create through a quota port that limits nothing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from '../../src/core/lifecycle.js';
import { type ChatKey, COUNTED_STATUSES } from '../../src/core/model.js';
import { ownerScope, tenantScope } from '../../src/core/quotas.js';
import { reconcile } from '../../src/core/reconcile.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { type BenchCore, benchCore, newChatId, putSandbox } from '../support/core.js';
import { countCalls, createBenchTable } from '../support/dynamo.js';
import type { Figure, Row } from '../support/report.js';
import { distribution, ms, nowMs, pool, ratio } from '../support/stats.js';
import { UnlimitedQuotas } from '../support/unlimited-quotas.js';

const TENANT = 'local';
const CALLS = 1_000;
const CHATS = 100;
const OWNERS = 20;
const CALLERS = 100;
const OWNER_LIMIT = 3;
const TENANT_LIMIT = 50;
const LAUNCH_MS = 50;
const GRACE_SECONDS = 1;
/** Creates timed per side and launch time, in alternating blocks so drift hits both sides alike. */
const LATENCY_CREATES = 200;
const LATENCY_BLOCK = 25;
const RATIO_TARGET = 1.3;

const withLimits = (tenantMaxLive: number, ownerMaxLive: number): LifecycleConfig => ({
  ...DEFAULT_LIFECYCLE,
  quotas: { tenantMaxLive, ownerMaxLive, repairGraceSeconds: GRACE_SECONDS },
});

/** Ends a sandbox the way it ends on AWS: a delete, then the runtime's report that its task stopped. */
async function end(deps: CoreDeps, key: ChatKey): Promise<void> {
  const deleted = await deleteSandbox(deps, key);
  if (deleted.result !== 'deleted') return;
  await onRuntimeEvent(deps, {
    kind: 'stopped',
    ...key,
    sessionId: deleted.session.sessionId,
    ref: deleted.session.runtimeRef ?? '',
    reason: 'stopped',
  });
}

/** Live sandboxes by owner in one strongly consistent read of every chat's session. */
async function sample(core: BenchCore, keys: readonly ChatKey[]): Promise<{ tenant: number; owner: number }> {
  const sessions = await core.deps.store.getMany(keys);
  const perOwner = new Map<string, number>();
  let tenant = 0;
  for (const session of sessions) {
    if (!session || !COUNTED_STATUSES.includes(session.status)) continue;
    tenant += 1;
    const owner = session.ownerId ?? '';
    perOwner.set(owner, (perOwner.get(owner) ?? 0) + 1);
  }
  return { tenant, owner: Math.max(0, ...perOwner.values()) };
}

/**
 * 1,000 PUTs over 100 chats (10 each, interleaved) of 20 owners, 100 callers at a time, owner limit
 * 3 and tenant limit 50; then every sandbox ends, and one reconcile pass after the grace.
 */
async function contention(client: DynamoDBClient) {
  const tableName = await createBenchTable(client, 'quota-contention');
  const core = benchCore(client, tableName, LAUNCH_MS, { config: withLimits(TENANT_LIMIT, OWNER_LIMIT) });
  const quotas = new DynamoQuotaStore(client, tableName);
  const keys = Array.from({ length: CHATS }, () => ({ tenant: TENANT, chatId: newChatId() }));
  const ownerOf = (chat: number) => `owner-${chat % OWNERS}`;

  let monitoring = true;
  const seen = { samples: 0, tenant: 0, owner: 0, unitsHeld: 0 };
  const monitor = (async () => {
    while (monitoring) {
      const [live, units] = await Promise.all([sample(core, keys), quotas.count(tenantScope(TENANT))]);
      seen.samples += 1;
      seen.tenant = Math.max(seen.tenant, live.tenant);
      seen.owner = Math.max(seen.owner, live.owner);
      seen.unitsHeld = Math.max(seen.unitsHeld, units);
    }
  })();

  const answers = { created: 0, reused: 0, refused: 0, other: 0 };
  const otherSamples: unknown[] = [];
  let lastTakeAt = 0;
  const start = nowMs();
  await pool(CALLS, CALLERS, async (index) => {
    const chat = (index * 37) % CHATS;
    const key = keys[chat]!;
    const answer = await putSandbox(core.app, key.chatId, { agentId: 'agent-bench', ownerId: ownerOf(chat) });
    lastTakeAt = Date.now();
    if (answer.status === 201) answers.created += 1;
    else if (answer.status === 200) answers.reused += 1;
    else if (answer.status === 429) answers.refused += 1;
    else {
      answers.other += 1;
      if (otherSamples.length < 5) otherSamples.push({ status: answer.status, body: answer.body });
    }
  });
  const wallMs = nowMs() - start;
  monitoring = false;
  await monitor;

  // Everything ends; units a lost claim left wait for one reconcile pass after the grace.
  await pool(CHATS, 20, (chat) => end(core.deps, keys[chat]!));
  const held = async () => {
    const owners = await Promise.all(
      Array.from({ length: OWNERS }, (_, owner) => quotas.count(ownerScope(TENANT, `owner-${owner}`))),
    );
    return (await quotas.count(tenantScope(TENANT))) + owners.reduce((sum, units) => sum + units, 0);
  };
  const heldBefore = await held();
  const wait = lastTakeAt + GRACE_SECONDS * 1000 + 100 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const pass = await reconcile(core.deps, { holder: 'bench' });
  const heldAfter = await held();
  return { answers, otherSamples, seen, wallMs, heldBefore, heldAfter, pass, errorLogs: core.logger.errors };
}

/** The DynamoDB calls of a create refused at the owner limit, what it left behind, and of an owned reuse. */
async function callCosts(client: DynamoDBClient) {
  const tableName = await createBenchTable(client, 'quota-calls');
  const counter = countCalls(client);
  const core = benchCore(client, tableName, 0, { config: withLimits(TENANT_LIMIT, OWNER_LIMIT) });
  const quotas = new DynamoQuotaStore(client, tableName);
  const body = { agentId: 'agent-bench', ownerId: 'owner-full' };
  const owned = Array.from({ length: OWNER_LIMIT }, () => newChatId());
  for (const chatId of owned) await putSandbox(core.app, chatId, body);

  const refusedChat = newChatId();
  counter.reset();
  const refused = await putSandbox(core.app, refusedChat, body);
  const refusedCalls = { count: counter.names.length, summary: counter.summary() };
  const key = { tenant: TENANT, chatId: refusedChat };
  const traces =
    ((await core.deps.store.get(key)) ? 1 : 0) +
    ((await quotas.getChat(key)) ? 1 : 0) +
    (await quotas.count(ownerScope(TENANT, 'owner-full'))) -
    OWNER_LIMIT +
    (await quotas.count(tenantScope(TENANT))) -
    OWNER_LIMIT;

  counter.reset();
  const reused = await putSandbox(core.app, owned[0]!, body);
  const reuseCalls = { count: counter.names.length, summary: counter.summary() };
  return { refusedStatus: refused.status, refusedCalls, traces, reuseStatus: reused.status, reuseCalls };
}

/**
 * Sequential creates of new chats (20 owners), with quotas and through `UnlimitedQuotas`, in
 * alternating blocks on one table; each created sandbox is ended untimed, so the scopes stay small.
 */
async function latency(client: DynamoDBClient, launchMs: number) {
  const tableName = await createBenchTable(client, `quota-latency-${launchMs}`);
  const config = withLimits(2_000, 2_000);
  const sides = {
    with: benchCore(client, tableName, launchMs, { config }),
    without: benchCore(client, tableName, launchMs, { config, quotas: new UnlimitedQuotas() }),
  };
  const samples = { with: [] as number[], without: [] as number[] };
  const failures = { with: 0, without: 0 };
  for (let block = 0; block < (LATENCY_CREATES / LATENCY_BLOCK) * 2; block += 1) {
    const side = block % 4 === 0 || block % 4 === 3 ? 'with' : 'without';
    for (let n = 0; n < LATENCY_BLOCK; n += 1) {
      const chatId = newChatId();
      const start = nowMs();
      const answer = await putSandbox(sides[side].app, chatId, {
        agentId: 'agent-bench',
        ownerId: `owner-${n % OWNERS}`,
      });
      samples[side].push(nowMs() - start);
      if (answer.status !== 201) failures[side] += 1;
      await end(sides[side].deps, { tenant: TENANT, chatId });
    }
  }
  return {
    launchMs,
    with: distribution(samples.with),
    without: distribution(samples.without),
    failures,
  };
}

export const ownerQuotasFigure: Figure = {
  id: 7,
  title: 'Owners and live-sandbox limits',
  async run({ dynamo, progress }) {
    const client = dynamo.client();
    try {
      progress('figure 7: limits under contention');
      const crowd = await contention(client);
      const costs = await callCosts(client);
      progress('figure 7: create latency with and without quotas');
      const slow = await latency(client, LAUNCH_MS);
      const fast = await latency(client, 0);

      const check = (ok: boolean) => (ok ? 'ok' : 'WRONG');
      const { answers, seen } = crowd;
      const rows: Row[] = [
        {
          measure: `${CALLS} creates: created / reused / 429`,
          value: `${answers.created} / ${answers.reused} / ${answers.refused}`,
        },
        {
          measure: 'errors other than 429 (answers, error logs)',
          value: `${answers.other}, ${crowd.errorLogs}`,
          ratio: check(answers.other === 0 && crowd.errorLogs === 0),
        },
        {
          measure: `most live per owner the monitor saw (${seen.samples} samples)`,
          value: `${seen.owner}`,
          floor: `limit ${OWNER_LIMIT}`,
          ratio: check(seen.owner <= OWNER_LIMIT),
        },
        {
          measure: 'most live in the tenant the monitor saw; most units held',
          value: `${seen.tenant}; ${seen.unitsHeld}`,
          floor: `limit ${TENANT_LIMIT}`,
          ratio: check(seen.tenant <= TENANT_LIMIT && seen.unitsHeld <= TENANT_LIMIT),
        },
        {
          measure: 'units held once all ended: before / after one reconcile pass',
          value: `${crowd.heldBefore} / ${crowd.heldAfter}`,
          ratio: check(crowd.heldAfter === 0),
          target: '0 after',
        },
        {
          measure: `create refused at the owner limit (${costs.refusedStatus}): calls; items left`,
          value: `${costs.refusedCalls.count} (${costs.refusedCalls.summary}); ${costs.traces}`,
          ratio: check(costs.refusedStatus === 429 && costs.traces === 0),
          target: '0 left',
        },
        {
          measure: `reuse naming its owner (${costs.reuseStatus}): calls`,
          value: `${costs.reuseCalls.count} (${costs.reuseCalls.summary})`,
          ratio: check(costs.reuseStatus === 200 && costs.reuseCalls.count === 1),
          target: '1 write',
        },
      ];
      for (const run of [slow, fast]) {
        rows.push({
          measure: `create p50 with quotas vs without, launch fake ${run.launchMs} ms`,
          value: ms(run.with.p50),
          floor: ms(run.without.p50),
          ratio: ratio(run.with.p50, run.without.p50),
          ...(run.launchMs === LAUNCH_MS ? { target: `<= ${RATIO_TARGET}x` } : {}),
        });
      }
      return {
        status: 'measured',
        workload:
          `${CALLS} PUTs via app.request() over ${CHATS} chats of ${OWNERS} owners, ${CALLERS} callers, ` +
          `limits ${OWNER_LIMIT}/owner and ${TENANT_LIMIT}/tenant, launch fake ${LAUNCH_MS} ms; ` +
          `${LATENCY_CREATES} sequential creates per side`,
        rows,
        data: {
          contention: { ...crowd, limits: { owner: OWNER_LIMIT, tenant: TENANT_LIMIT } },
          costs,
          latency: [slow, fast],
        },
      };
    } finally {
      client.destroy();
    }
  },
};
