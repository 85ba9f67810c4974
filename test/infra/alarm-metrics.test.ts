/**
 * Every alarm on one of the control plane's own metrics watches a metric the code emits, with the
 * dimensions it emits it with: the alarms' metrics are taken from the synthesized template, the
 * emitted ones from the EMF lines the recording functions print through Powertools.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countWith, MeteredRuntime, recordApiAnswer, recordReconcile } from '../../src/aws/metrics.js';
import { emptySummary, RECONCILE_COUNTERS } from '../../src/core/reconcile.js';
import { DIMENSIONS, METRIC_NAMESPACE, METRICS, SERVICES } from '../../src/names.js';
import { FakeRuntime, ManualClock } from '../support/fakes.js';
import { synthApp } from './synth.js';

interface Emitted {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** The metrics a function emits when every recording path runs once. */
async function emittedBy(service: string): Promise<Emitted[]> {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  // Powertools prints through console.log (which the test reads) only in dev mode.
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: service });
  const summary = emptySummary(true);
  for (const counter of RECONCILE_COUNTERS) summary[counter] = 1;
  recordReconcile(metrics, summary, 1);
  recordApiAnswer(metrics, {
    method: 'PUT',
    route: '',
    operationId: 'getOrCreateSandbox',
    status: 201,
    code: null,
  });
  countWith(metrics, METRICS.taskEvents, DIMENSIONS.outcome, 'applied');
  const runtime = new MeteredRuntime(new FakeRuntime(new ManualClock()), metrics);
  await runtime.inventory();
  await runtime.launch({
    tenant: 't',
    chatId: 'c',
    sessionId: 's',
    agentId: 'a',
    profile: 'default',
    env: {},
  });
  metrics.publishStoredMetrics();
  const emitted: Emitted[] = [];
  for (const [line] of log.mock.calls) {
    const entry = JSON.parse(String(line)) as {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
      [key: string]: unknown;
    };
    for (const directive of entry._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe(METRIC_NAMESPACE);
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] ?? []).map((name) => [name, String(entry[name])]),
      );
      for (const metric of directive.Metrics) emitted.push({ name: metric.Name, dimensions });
    }
  }
  return emitted;
}

/** Metrics of the namespace that alarms (and their metric math) in a template watch. */
function alarmedMetrics(template: ReturnType<typeof synthApp>['serviceTemplate']): Emitted[] {
  const found: Emitted[] = [];
  const add = (metric: {
    Namespace?: string;
    MetricName?: string;
    Dimensions?: { Name: string; Value: string }[];
  }) => {
    if (metric.Namespace !== METRIC_NAMESPACE || !metric.MetricName) return;
    found.push({
      name: metric.MetricName,
      dimensions: Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, d.Value])),
    });
  };
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const properties = alarm.Properties as {
      Namespace?: string;
      MetricName?: string;
      Dimensions?: { Name: string; Value: string }[];
      Metrics?: { MetricStat?: { Metric: Parameters<typeof add>[0] } }[];
    };
    add(properties);
    for (const query of properties.Metrics ?? []) if (query.MetricStat) add(query.MetricStat.Metric);
  }
  return found;
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('alarms and the metrics they watch', () => {
  it('alarm only on metrics the functions emit, with the dimensions they emit them with', async () => {
    const alarmed = alarmedMetrics(synthApp().serviceTemplate);
    expect(alarmed.map((metric) => metric.name)).toContain(METRICS.errors);
    const emitted = [...(await emittedBy(SERVICES.reconciler)), ...(await emittedBy(SERVICES.api))];
    for (const metric of alarmed) {
      const match = emitted.find(
        (candidate) =>
          candidate.name === metric.name &&
          Object.entries(metric.dimensions).every(([name, value]) => candidate.dimensions[name] === value),
      );
      expect(match, `${metric.name} ${JSON.stringify(metric.dimensions)}`).toBeDefined();
    }
  });
});
