/**
 * `npm run bench`: starts an in-memory DynamoDB Local, measures each figure next to its floor in the
 * same run, prints one table and writes bench/results/latest.json. `--only=2,5` runs some figures.
 * See docs/performance.md for how to read the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLocalDynamo } from '../src/local/dynamodb-local.js';
import { coldStartFigure } from './figures/cold-start.js';
import { concurrentGetOrCreateFigure } from './figures/concurrent-get-or-create.js';
import { dynamodbCallsFigure } from './figures/dynamodb-calls.js';
import { localReadyFigure } from './figures/local-ready.js';
import { ownerQuotasFigure } from './figures/owner-quotas.js';
import { reconcileCostFigure } from './figures/reconcile-cost.js';
import { reuseLatencyFigure } from './figures/reuse-latency.js';
import { type Figure, type FigureResult, machine, renderTable } from './support/report.js';
import { nowMs } from './support/stats.js';

// The pinned SDK runs on Node 20; its once-per-process notice about 2027 releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Run order: the 50,000-item load of figure 6 goes last so it cannot slow the others down. */
const FIGURES: readonly Figure[] = [
  dynamodbCallsFigure,
  reuseLatencyFigure,
  concurrentGetOrCreateFigure,
  coldStartFigure,
  localReadyFigure,
  ownerQuotasFigure,
  reconcileCostFigure,
];

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function selectedFigures(argv: readonly string[]): readonly Figure[] {
  const only = argv.find((arg) => arg.startsWith('--only='));
  if (!only) return FIGURES;
  const ids = new Set(only.slice('--only='.length).split(',').map(Number));
  return FIGURES.filter((figure) => ids.has(figure.id));
}

const progress = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString()}] ${message}\n`);

async function main(): Promise<number> {
  const figures = selectedFigures(process.argv.slice(2));
  const startedAt = new Date();
  const start = nowMs();
  progress('starting DynamoDB Local (in memory)');
  const dynamo = await startLocalDynamo();
  const aborts = new Set<() => Promise<void>>();
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping what the bench started`);
    Promise.allSettled([...aborts].map((cleanup) => cleanup()))
      .then(() => dynamo.stop())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  const results: FigureResult[] = [];
  try {
    for (const figure of figures) {
      if (interrupted) break;
      progress(`figure ${figure.id}: ${figure.title}`);
      const figureStart = nowMs();
      const onAbort = (cleanup: () => Promise<void>) => {
        aborts.add(cleanup);
        return () => aborts.delete(cleanup);
      };
      try {
        const outcome = await figure.run({ dynamo, progress, onAbort });
        results.push({ id: figure.id, title: figure.title, ...outcome, durationMs: nowMs() - figureStart });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        progress(
          `figure ${figure.id} failed: ${error instanceof Error ? (error.stack ?? message) : message}`,
        );
        results.push({
          id: figure.id,
          title: figure.title,
          workload: '',
          status: 'failed',
          rows: [{ measure: `failed: ${message.slice(0, 200)}`, value: '' }],
          data: { error: message },
          durationMs: nowMs() - figureStart,
        });
      }
    }
  } finally {
    await dynamo.stop();
  }

  // An interrupted run leaves latest.json as the last complete run wrote it; the handler exits.
  if (interrupted) return 130;
  const durationMs = nowMs() - start;
  const host = machine();
  results.sort((a, b) => a.id - b.id);
  process.stdout.write(
    [
      '',
      `Benchmarks, ${startedAt.toISOString()}: ${host.cpuModel}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}`,
      '',
      renderTable(results),
      '',
      `Total ${(durationMs / 1000).toFixed(1)} s. Workloads and raw numbers: bench/results/latest.json`,
      '',
    ].join('\n'),
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    `${RESULTS_DIR}latest.json`,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), durationMs, machine: host, figures: results }, null, 2)}\n`,
  );
  return results.some((result) => result.status === 'failed') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
