/**
 * The control plane's metrics, named in src/names.ts (namespace `AgentSandbox`, dimension `service`
 * = the function), so the alarms in infra/ watch exactly what is emitted:
 *
 * | metric | dimensions | from |
 * |---|---|---|
 * | `GetOrCreate` | `result`: created, reused, or the problem code | api (HTTP middleware) |
 * | `Launches` | | any function that launches |
 * | `LaunchFailures` | `retryable`: true, false | any function that launches |
 * | `ActiveSandboxes` | | reconciler (orphan sweep's task list) |
 * | `Reconcile<Counter>` (`ReconcileExpired`, ...) | | reconciler, non-zero counters only |
 * | `VolumesRetired` | | reconciler |
 * | `TaskEvents` | `outcome`: applied, ignored, stopped_stray_task, or an ignore reason | task-events |
 * | `EventsPublished`, `EventsRefused` | | event-publisher |
 * | `WebhookDeliveries` | `outcome`: delivered, retry, refused | webhook |
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { LaunchError } from '../core/errors.js';
import type { LaunchResult, LaunchSpec, RuntimeInventory, SandboxRuntime, TaskState } from '../core/ports.js';
import { RECONCILE_COUNTERS, type ReconcileSummary } from '../core/reconcile.js';
import type { HttpAnswer } from '../http/app.js';
import { DIMENSIONS, METRICS, RECONCILE_METRICS } from '../names.js';

/** One count with one dimension, flushed on its own so the dimension applies to it alone. */
export function countWith(metrics: Metrics, name: string, dimension: string, value: string): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** The `GetOrCreate` result of an answer: created, reused, or its problem code. */
export function getOrCreateResult(status: number, problemCode: string | null): string {
  if (status === 201) return 'created';
  if (status === 200) return 'reused';
  return problemCode ?? `http_${status}`;
}

/** Counts `GetOrCreate` by result for the get-or-create route; other routes record nothing. */
export function recordApiAnswer(metrics: Metrics, answer: HttpAnswer): void {
  if (answer.operationId !== 'getOrCreateSandbox') return;
  countWith(metrics, METRICS.getOrCreate, DIMENSIONS.result, getOrCreateResult(answer.status, answer.code));
}

/**
 * The non-zero counters of a reconcile pass as `Reconcile<Counter>`, plus retired volumes. Zeros are
 * left out: a custom metric is billed for every hour it receives data, so an idle stack publishing
 * ten zero counters a minute would pay for ten metrics; dashboards and alarms fill gaps with 0.
 */
export function recordReconcile(
  metrics: Metrics,
  summary: ReconcileSummary,
  volumesRetired: number,
  chatsPurged = 0,
): void {
  for (const counter of RECONCILE_COUNTERS) {
    if (summary[counter] === 0) continue;
    metrics.addMetric(RECONCILE_METRICS[counter], MetricUnit.Count, summary[counter]);
  }
  if (volumesRetired > 0) metrics.addMetric(METRICS.volumesRetired, MetricUnit.Count, volumesRetired);
  if (chatsPurged > 0) metrics.addMetric(METRICS.chatsPurged, MetricUnit.Count, chatsPurged);
}

/** A runtime that counts launches, launch failures and, on each inventory, the live sandboxes. */
export class MeteredRuntime implements SandboxRuntime {
  constructor(
    private readonly inner: SandboxRuntime,
    private readonly metrics: Metrics,
  ) {}

  async launch(spec: LaunchSpec): Promise<LaunchResult> {
    try {
      const result = await this.inner.launch(spec);
      this.metrics.addMetric(METRICS.launches, MetricUnit.Count, 1);
      return result;
    } catch (error) {
      const retryable = error instanceof LaunchError ? String(error.retryable) : 'false';
      countWith(this.metrics, METRICS.launchFailures, DIMENSIONS.retryable, retryable);
      throw error;
    }
  }

  describe(ref: string): Promise<TaskState> {
    return this.inner.describe(ref);
  }

  stop(ref: string, reason: string): Promise<void> {
    return this.inner.stop(ref, reason);
  }

  async inventory(): Promise<RuntimeInventory> {
    const inventory = await this.inner.inventory();
    this.metrics.addMetric(METRICS.activeSandboxes, MetricUnit.Count, inventory.tasks.length);
    return inventory;
  }
}
