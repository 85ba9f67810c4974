/** Figure 3: concurrent get-or-create over a small set of chats, against raw conditional-write throughput. */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { benchCore, newChatId, putSandbox } from '../support/core.js';
import { batchPut, countCalls, createBenchTable } from '../support/dynamo.js';
import type { Figure } from '../support/report.js';
import { count, distribution, ms, nowMs, pool, ratio } from '../support/stats.js';

const CALLS = 1_000;
const CHATS = 100;
const CALLERS = 100;
const LAUNCH_MS = 50;

/** A deterministic shuffle (mulberry32), so every run issues the calls in the same order. */
function shuffled<T>(values: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const result = [...values];
  for (let i = result.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** `CALLS` conditional UpdateItems over `CHATS` items by `CALLERS` concurrent callers; answers calls/s. */
async function rawWriteThroughput(client: DynamoDBClient, tableName: string, order: readonly number[]) {
  const pks = Array.from({ length: CHATS }, () => `CHAT#local#${newChatId()}`);
  const doc = DynamoDBDocumentClient.from(client);
  await batchPut(
    doc,
    tableName,
    pks.map((pk) => ({ pk, sk: 'SANDBOX', status: 'running', expiresAt: Date.now() + 900_000 })),
    4,
  );
  const start = nowMs();
  await pool(order.length, CALLERS, (index) => {
    const now = Date.now();
    return client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: pks[order[index]!]! }, sk: { S: 'SANDBOX' } },
        UpdateExpression: 'SET lastActiveAt = :now, expiresAt = :expiresAt',
        ConditionExpression: '#status = :running AND expiresAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':now': { N: `${now}` },
          ':expiresAt': { N: `${now + 900_000}` },
          ':running': { S: 'running' },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  });
  return (order.length / (nowMs() - start)) * 1000;
}

/**
 * 1,000 PUTs through `app.request()` over 100 fresh chats (10 each, shuffled), 100 callers at a
 * time, with a launch that takes 50 ms. Checks that every chat got exactly one session; the raw
 * conditional-write throughput is taken just before and just after, with the same callers and order.
 */
export const concurrentGetOrCreateFigure: Figure = {
  id: 3,
  title: 'Concurrent get-or-create',
  async run({ dynamo }) {
    const client = dynamo.client();
    const rawClient = dynamo.client();
    try {
      const tableName = await createBenchTable(client, 'concurrent');
      const counter = countCalls(client);
      const { app, runtime, logger } = benchCore(client, tableName, LAUNCH_MS);
      const chats = Array.from({ length: CHATS }, () => newChatId());
      const order = shuffled(
        Array.from({ length: CALLS }, (_, index) => index % CHATS),
        20_261_122,
      );

      const rawBefore = await rawWriteThroughput(rawClient, tableName, order);
      counter.reset();
      const latencies: number[] = [];
      const statuses = new Map<number, number>();
      const sessionsByChat = new Map<string, Set<string>>();
      let created = 0;
      const start = nowMs();
      await pool(CALLS, CALLERS, async (index) => {
        const chatId = chats[order[index]!]!;
        const callStart = nowMs();
        const answer = await putSandbox(app, chatId, { agentId: 'agent-bench' });
        latencies.push(nowMs() - callStart);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 200 || answer.status === 201) {
          const { sandbox, created: isNew } = answer.body as {
            sandbox: { sessionId: string };
            created: boolean;
          };
          if (isNew) created += 1;
          const seen = sessionsByChat.get(chatId) ?? new Set<string>();
          seen.add(sandbox.sessionId);
          sessionsByChat.set(chatId, seen);
        }
      });
      const wallMs = nowMs() - start;
      const calls = counter.names.length;
      const rawAfter = await rawWriteThroughput(rawClient, tableName, order);

      const errors = CALLS - (statuses.get(200) ?? 0) - (statuses.get(201) ?? 0);
      const chatsWithOneSession = [...sessionsByChat.values()].filter((ids) => ids.size === 1).length;
      const throughput = (CALLS / wallMs) * 1000;
      const rawThroughput = (rawBefore + rawAfter) / 2;
      const latency = distribution(latencies);
      return {
        status: 'measured',
        workload: `${CALLS} PUTs via app.request() over ${CHATS} new chats, ${CALLERS} callers at a time, launch fake ${LAUNCH_MS} ms`,
        rows: [
          {
            measure: 'launches (exactly 100 expected)',
            value: `${runtime.launches}`,
            floor: `${CHATS}`,
            ratio: runtime.launches === CHATS ? 'ok' : 'WRONG',
          },
          { measure: 'answers created / reused', value: `${created} / ${CALLS - created - errors}` },
          {
            measure: 'chats whose answers all name one session',
            value: `${chatsWithOneSession} of ${CHATS}`,
          },
          { measure: 'errors (non-2xx answers, error logs)', value: `${errors}, ${logger.errors}` },
          { measure: 'DynamoDB calls per get-or-create', value: (calls / CALLS).toFixed(2) },
          {
            measure: 'throughput (calls/s) vs raw conditional writes/s',
            value: count(throughput),
            floor: count(rawThroughput),
            ratio: ratio(throughput, rawThroughput),
          },
          { measure: 'latency p50', value: ms(latency.p50) },
          { measure: 'latency p99', value: ms(latency.p99) },
        ],
        data: {
          calls: CALLS,
          chats: CHATS,
          callers: CALLERS,
          launchMs: LAUNCH_MS,
          launches: runtime.launches,
          created,
          statuses: Object.fromEntries(statuses),
          errorLogs: logger.errors,
          errorSamples: logger.lastErrors,
          chatsWithOneSession,
          dynamodbCalls: calls,
          wallMs,
          throughputPerSecond: throughput,
          rawConditionalWritesPerSecond: { before: rawBefore, after: rawAfter, mean: rawThroughput },
          latency,
        },
      };
    } finally {
      client.destroy();
      rawClient.destroy();
    }
  },
};
