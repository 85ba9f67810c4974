/**
 * The control plane's metrics, in one place so their names stay stable for dashboards and alarms
 * (namespace `AgentSandbox`, dimension `service` = the function):
 *
 * | metric | dimensions | unit | from |
 * |---|---|---|---|
 * | `GetOrCreate` | `result`: created, reused, conflict, launch_failed, capacity_unavailable, ... | Count | api |
 * | `Launches` | | Count | any function that launches |
 * | `LaunchFailures` | `retryable`: true, false | Count | any function that launches |
 * | `ActiveSandboxes` | | Count | reconciler (orphan sweep's task list) |
 * | `Reconcile<Counter>` (`ReconcileExpired`, ...) | | Count | reconciler |
 * | `VolumesRetired` | | Count | reconciler |
 * | `TaskEvents` | `outcome`: applied, ignored, stopped_stray_task, or an ignore reason | Count | task-events |
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { LaunchError } from '../core/errors.js';
import type { LaunchResult, LaunchSpec, LiveTask, SandboxRuntime, TaskState } from '../core/ports.js';
import type { ReconcileSummary } from '../core/reconcile.js';

/** One count with one dimension, flushed on its own so the dimension applies to it alone. */
export function countWith(metrics: Metrics, name: string, dimension: string, value: string): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** The outcome of a get-or-create call, from the HTTP answer it produced. */
export function getOrCreateResult(statusCode: number, problemCode: string | undefined): string {
  if (statusCode === 201) return 'created';
  if (statusCode === 200) return 'reused';
  return problemCode ?? `http_${statusCode}`;
}

const RECONCILE_COUNTERS = [
  'examined',
  'rearmed',
  'expired',
  'relaunched',
  'promoted',
  'failed',
  'finished',
  'stopRetried',
  'orphansStopped',
  'errors',
] as const satisfies readonly (keyof ReconcileSummary)[];

/**
 * The non-zero counters of a reconcile pass as `Reconcile<Counter>`, plus retired volumes. Zeros are
 * left out: a custom metric is billed for every hour it receives data, so an idle stack publishing
 * ten zero counters a minute would pay for ten metrics; dashboards and alarms fill gaps with 0.
 */
export function recordReconcile(metrics: Metrics, summary: ReconcileSummary, volumesRetired: number): void {
  for (const counter of RECONCILE_COUNTERS) {
    if (summary[counter] === 0) continue;
    const name = `Reconcile${counter[0]!.toUpperCase()}${counter.slice(1)}`;
    metrics.addMetric(name, MetricUnit.Count, summary[counter]);
  }
  if (volumesRetired > 0) metrics.addMetric('VolumesRetired', MetricUnit.Count, volumesRetired);
}

/** A runtime that counts launches, launch failures and, on each full listing, the live sandboxes. */
export class MeteredRuntime implements SandboxRuntime {
  constructor(
    private readonly inner: SandboxRuntime,
    private readonly metrics: Metrics,
  ) {}

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    try {
      const result = await this.inner.launch(spec);
      this.metrics.addMetric('Launches', MetricUnit.Count, 1);
      return result;
    } catch (error) {
      const retryable = error instanceof LaunchError ? String(error.retryable) : 'false';
      countWith(this.metrics, 'LaunchFailures', 'retryable', retryable);
      throw error;
    }
  }

  describe(ref: string): Promise<TaskState> {
    return this.inner.describe(ref);
  }

  stop(ref: string, reason: string): Promise<void> {
    return this.inner.stop(ref, reason);
  }

  async listLive(): Promise<readonly LiveTask[]> {
    const live = await this.inner.listLive();
    this.metrics.addMetric('ActiveSandboxes', MetricUnit.Count, live.length);
    return live;
  }
}

const GET_OR_CREATE_ROUTE = /^\/v1\/chats\/[^/]+\/sandbox\/?$/;

/** The fields of an API Gateway v2 event and of the handler's answer that the API metrics read. */
export interface ApiExchange {
  /** The Lambda event; only API Gateway v2 events (`requestContext.http`) are counted. */
  readonly event: unknown;
  readonly result: { readonly statusCode: number; readonly body?: string };
}

interface HttpV2Event {
  readonly requestContext?: { readonly http?: { readonly method?: unknown; readonly path?: unknown } };
}

/** Counts `GetOrCreate` by result for `PUT /v1/chats/{chatId}/sandbox`; other routes record nothing. */
export function recordApiAnswer(metrics: Metrics, { event, result }: ApiExchange): void {
  const http = (event as HttpV2Event | null)?.requestContext?.http;
  if (http?.method !== 'PUT' || typeof http.path !== 'string' || !GET_OR_CREATE_ROUTE.test(http.path)) return;
  let problemCode: string | undefined;
  if (result.statusCode >= 400 && result.body) {
    try {
      const code = (JSON.parse(result.body) as { code?: unknown }).code;
      problemCode = typeof code === 'string' ? code : undefined;
    } catch {
      problemCode = undefined;
    }
  }
  countWith(metrics, 'GetOrCreate', 'result', getOrCreateResult(result.statusCode, problemCode));
}
