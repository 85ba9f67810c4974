/** Figure 4: reconcile cost as the table grows, against a full Scan of the same table. */
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type Item, toItem } from '../../src/adapters/dynamodb/session-item.js';
import type { CoreDeps } from '../../src/core/deps.js';
import type { Session } from '../../src/core/model.js';
import type { LiveTask } from '../../src/core/ports.js';
import { reconcile } from '../../src/core/reconcile.js';
import { benchCore, newChatId } from '../support/core.js';
import { batchPut, type CallCounter, countCalls, createBenchTable } from '../support/dynamo.js';
import type { Figure, Row } from '../support/report.js';
import { count, median, ms, nowMs, ratio } from '../support/stats.js';

const SIZES = [1_000, 10_000, 50_000] as const;
const DUE = 100;
const PASSES = 5;
const WARMUP_PASSES = 1;
const LOAD_PARALLEL = 8;
const HOUR_MS = 3_600_000;

/**
 * A running session. Not due: `dueAt` = `expiresAt`, an hour ahead. Due: `dueAt` a minute ago, and
 * either still unexpired (the pass re-arms it) or expired (the pass moves it to stopping).
 */
function runningSession(now: number, kind: SessionKind, chatId: string): Session {
  const expiresAt = kind === 'due-expired' ? now - 30_000 : now + HOUR_MS;
  return {
    tenant: 'local',
    chatId,
    sessionId: newChatId(),
    agentId: 'agent-bench',
    profile: 'default',
    ownerId: null,
    status: 'running',
    endpoint: { host: '127.0.0.1', port: 9 },
    runtimeRef: `bench-task/${chatId}`,
    createdAt: now - HOUR_MS,
    lastActiveAt: now - HOUR_MS / 2,
    expiresAt,
    maxExpiresAt: now + 8 * HOUR_MS,
    idleTimeoutSeconds: 900,
    stoppedAt: null,
    runningAt: null,
    expiringAt: null,
    settledAt: null,
    replacedUsage: null,
    stopReason: null,
    statusDetail: null,
    metadata: { team: 'bench' },
    env: {},
    version: 3,
    dueAt: kind === 'idle' ? expiresAt : now - 60_000,
    launchAttempts: 1,
    stopAttempts: 0,
    runtimeEventVersion: null,
    ttl: null,
  };
}

type SessionKind = 'idle' | 'due-rearm' | 'due-expired';

function idleItems(size: number): Item[] {
  const now = Date.now();
  return Array.from({ length: size }, () => toItem(runningSession(now, 'idle', newChatId())));
}

/** The due chats as due again: the first half to re-arm, the second half expired. */
function dueItems(chats: readonly string[]): Item[] {
  const now = Date.now();
  return chats.map((chatId, index) =>
    toItem(runningSession(now, index < chats.length / 2 ? 'due-rearm' : 'due-expired', chatId)),
  );
}

/** The live task a loaded session's runtime would report. */
function taskOf(item: Item): LiveTask {
  return {
    ref: String(item.runtimeRef),
    tenant: String(item.tenant),
    chatId: String(item.chatId),
    sessionId: String(item.sessionId),
    startedAt: Number(item.createdAt),
  };
}

interface PassCost {
  readonly ms: number;
  readonly examined: number;
  /** Items the pass's Queries and batch reads read (ScannedCount, BatchGetItem items) plus one per GetItem. */
  readonly itemsRead: number;
  readonly queries: number;
  readonly getItems: number;
  readonly calls: number;
}

/** Makes the due chats due again, then runs one reconcile pass and counts what it read. */
async function measuredPass(
  deps: CoreDeps,
  doc: DynamoDBDocumentClient,
  tableName: string,
  counter: CallCounter,
  dueChats: readonly string[],
): Promise<PassCost> {
  // The previous pass re-armed or stopped these chats: make them due again.
  await batchPut(doc, tableName, dueItems(dueChats), 4);
  counter.reset();
  const start = nowMs();
  const summary = await reconcile(deps, { holder: 'bench' });
  const elapsed = nowMs() - start;
  if (!summary.ran) throw new Error('reconcile pass did not take the lease');
  const getItems = counter.names.filter((name) => name === 'GetItem').length;
  return {
    ms: elapsed,
    examined: summary.examined,
    itemsRead: counter.itemsScanned + getItems,
    queries: counter.names.filter((name) => name === 'Query').length,
    getItems,
    calls: counter.names.length,
  };
}

/** Reads every due session through the `due` index (the pass's read side alone); answers the time. */
async function timeListDue(deps: CoreDeps): Promise<number> {
  const start = nowMs();
  let found = 0;
  for await (const _session of deps.store.listDue(Date.now())) found += 1;
  if (found !== DUE) throw new Error(`listDue found ${found} due sessions, expected ${DUE}`);
  return nowMs() - start;
}

/** A full Scan of the table, filtered on `dueAt`: what finding due sessions costs without the index. */
async function fullScan(doc: DynamoDBDocumentClient, tableName: string, counter: CallCounter) {
  counter.reset();
  const start = nowMs();
  let startKey: Record<string, unknown> | undefined;
  let matched = 0;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'dueAt <= :now',
        ExpressionAttributeValues: { ':now': Date.now() },
        ExclusiveStartKey: startKey,
      }),
    );
    matched += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { ms: nowMs() - start, itemsRead: counter.itemsScanned, matched, pages: counter.names.length };
}

/**
 * Grows one table to 1,000, 10,000 and 50,000 live sessions (bulk-loaded with BatchWriteItem), of
 * which 100 are due (half to re-arm, half expired). At each size: reconcile passes with the 100 due
 * items written back before each, counting items read, against one full Scan of the table. The
 * passes run with a runtime that reports no other tasks; one more pass runs with a runtime that
 * reports a live task for every loaded session, as a real one would, to show the orphan sweep's cost.
 */
export const reconcileCostFigure: Figure = {
  id: 4,
  title: 'Reconcile cost as the table grows',
  async run({ dynamo, progress }) {
    const client = dynamo.client();
    try {
      const tableName = await createBenchTable(client, 'reconcile');
      const counter = countCalls(client);
      const doc = DynamoDBDocumentClient.from(client);
      const bare = benchCore(client, tableName, 0);
      const swept = benchCore(client, tableName, 0);
      const rows: Row[] = [];
      const data: Record<string, unknown>[] = [];
      const dueChats = Array.from({ length: DUE }, () => newChatId());
      let loaded = DUE;
      for (const size of SIZES) {
        const loadStart = nowMs();
        const fresh = idleItems(size - loaded);
        await batchPut(doc, tableName, fresh, LOAD_PARALLEL);
        swept.runtime.adopt(fresh.map(taskOf));
        loaded = size;
        const loadMs = nowMs() - loadStart;
        progress(`figure 4: ${count(size)} sessions loaded (+${count(fresh.length)} in ${ms(loadMs)})`);

        for (let pass = 0; pass < WARMUP_PASSES; pass += 1) {
          await measuredPass(bare.deps, doc, tableName, counter, dueChats);
        }
        const passes: PassCost[] = [];
        for (let pass = 0; pass < PASSES; pass += 1) {
          passes.push(await measuredPass(bare.deps, doc, tableName, counter, dueChats));
        }
        const withSweep = await measuredPass(swept.deps, doc, tableName, counter, dueChats);
        // With the due chats due again, so the Scan finds the same 100 the pass would.
        await batchPut(doc, tableName, dueItems(dueChats), 4);
        const findDue: number[] = [];
        for (let read = 0; read < PASSES; read += 1) findDue.push(await timeListDue(bare.deps));
        const findDueMs = median(findDue);
        const scan = await fullScan(doc, tableName, counter);
        const last = passes[passes.length - 1]!;
        const passMs = median(passes.map((pass) => pass.ms));
        progress(
          `figure 4: ${count(size)}: pass ${ms(passMs)}, with sweep ${ms(withSweep.ms)}, scan ${ms(scan.ms)}`,
        );

        rows.push(
          {
            measure: `${count(size)} sessions: items read, pass vs full Scan`,
            value: `${count(last.itemsRead)} (${last.queries} Queries)`,
            floor: `${count(scan.itemsRead)} (${scan.pages} pages, ${scan.matched} due)`,
            ratio: ratio(last.itemsRead, scan.itemsRead),
          },
          {
            measure: `${count(size)} sessions: find the due items, Queries vs Scan`,
            value: ms(findDueMs),
            floor: ms(scan.ms),
            ratio: ratio(findDueMs, scan.ms),
          },
          {
            measure: `${count(size)} sessions: whole pass, median of ${PASSES}`,
            value: ms(passMs),
          },
          {
            measure: `${count(size)} sessions: pass + sweep of ${count(size - DUE)} live tasks`,
            value: `${count(withSweep.itemsRead)} read, ${ms(withSweep.ms)}`,
            floor: `${count(scan.itemsRead)}, ${ms(scan.ms)}`,
            ratio: ratio(withSweep.itemsRead, scan.itemsRead),
          },
        );
        data.push({
          size,
          due: DUE,
          loadMs,
          passes,
          passMsMedian: passMs,
          findDueMs: findDue,
          passWithSweep: withSweep,
          scan,
        });
      }
      const errors = bare.logger.errors + swept.logger.errors;
      if (errors > 0) {
        throw new Error(
          `reconcile logged errors: ${[...bare.logger.lastErrors, ...swept.logger.lastErrors].join('; ')}`,
        );
      }
      return {
        status: 'measured',
        workload: `one table grown to ${SIZES.map(count).join(' / ')} running sessions, ${DUE} due per pass (half re-armed, half expired); ${WARMUP_PASSES} warm-up + ${PASSES} passes per size, then 1 pass with a live task per session; ${PASSES} reads of the due index and one full Scan (dueAt filter) per size`,
        rows,
        data: { sizes: data },
      };
    } finally {
      client.destroy();
    }
  },
};
