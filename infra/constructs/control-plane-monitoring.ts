import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIMENSIONS, METRIC_NAMESPACE, METRICS, SERVICES } from '../../src/names.js';
import { alarmList, type ControlPlaneAlarms, createControlPlaneAlarms } from './control-plane-alarms.js';

export interface ControlPlaneMonitoringProps {
  readonly httpApi: apigw.HttpApi;
  readonly functions: {
    readonly api: lambda.IFunction;
    readonly taskEvents: lambda.IFunction;
    readonly reconciler: lambda.IFunction;
    readonly eventPublisher: lambda.IFunction;
    readonly logs?: lambda.IFunction;
    /** Graphed with the others; its failures also show in the API 5xx rate, which is alarmed. */
    readonly storage?: lambda.IFunction;
    readonly webhook?: lambda.IFunction;
  };
  readonly reconcilerLogs: logs.ILogGroup;
  readonly deadLetterQueue: sqs.IQueue;
  readonly table: dynamodb.ITable;
  readonly cluster: ecs.ICluster;
  /** SNS topic that receives alarm and OK notifications. @default no notifications */
  readonly alarmTopicArn?: string;
  /** Create the alarms ($0.10 per alarm metric-month). @default true */
  readonly alarms?: boolean;
  /** Create the dashboard ($3 per dashboard-month beyond the account's free three). @default true */
  readonly dashboard?: boolean;
  /** The cluster has Container Insights, so the dashboard can graph its task count. @default false */
  readonly containerInsights?: boolean;
}

const FIVE_MINUTES = Duration.minutes(5);

/** The `service` dimension the reconciler's metrics carry (its Powertools service name). */
const RECONCILER_SERVICE = SERVICES.reconciler;

/** A count the reconciler publishes per pass, summed over five minutes. */
function reconcileCount(metricName: string, label: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [DIMENSIONS.service]: RECONCILER_SERVICE },
    statistic: 'Sum',
    period: FIVE_MINUTES,
    label,
  });
}

/** Every series of one of the functions' own metrics, whatever its dimensions, summed. */
function searchAll(metricName: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRIC_NAMESPACE}} MetricName="${metricName}"', 'Sum', 300)`,
    label,
    period: FIVE_MINUTES,
  });
}

/**
 * The control plane's alarms (control-plane-alarms.ts) and one dashboard of its metrics. Each of the
 * two can be left out: both are billed every month, whether anything happens or not.
 */
export class ControlPlaneMonitoring extends Construct {
  readonly alarms?: ControlPlaneAlarms;
  readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ControlPlaneMonitoringProps) {
    super(scope, id);
    const { httpApi, functions } = props;

    const requests = httpApi.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' });
    const serverErrors = httpApi.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    const errorRate = new cloudwatch.MathExpression({
      label: 'API 5xx rate (%)',
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      period: FIVE_MINUTES,
    });
    const reconcilerErrors = new cloudwatch.MathExpression({
      label: 'Reconciler errors',
      expression: 'FILL(failedRuns, 0) + FILL(failedItems, 0)',
      usingMetrics: {
        failedRuns: functions.reconciler.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        failedItems: reconcileCount(METRICS.errors, 'failed items'),
      },
      period: FIVE_MINUTES,
    });

    if (props.alarms ?? true) {
      this.alarms = createControlPlaneAlarms(this, {
        apiErrorRate: errorRate,
        reconcilerErrors,
        reconciler: functions.reconciler,
        eventPublisher: functions.eventPublisher,
        webhook: functions.webhook,
        deadLetterQueue: props.deadLetterQueue,
        alarmTopicArn: props.alarmTopicArn,
      });
    }
    if (!(props.dashboard ?? true)) return;

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard = dashboard;
    const alarms = this.alarms ? alarmList(this.alarms) : [];
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [requests, httpApi.metricClientError({ period: FIVE_MINUTES }), serverErrors],
        right: [errorRate],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (p50, p99)',
        left: [httpApi.metricLatency({ statistic: 'p50' }), httpApi.metricLatency({ statistic: 'p99' })],
      }),
      ...(alarms.length > 0 ? [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms })] : []),
    );
    const named = Object.entries(functions);
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function invocations',
        left: named.map(([name, fn]) => fn.metricInvocations({ label: name })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors and throttles',
        left: named.map(([name, fn]) => fn.metricErrors({ label: `${name} errors` })),
        right: named.map(([name, fn]) => fn.metricThrottles({ label: `${name} throttles` })),
      }),
      new cloudwatch.GraphWidget({
        title: 'Function duration (p99)',
        left: named.map(([name, fn]) => fn.metricDuration({ label: name, statistic: 'p99' })),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Get-or-create results and launches',
        left: [searchAll(METRICS.getOrCreate, 'get-or-create'), searchAll(METRICS.launches, 'launches')],
        right: [searchAll(METRICS.launchFailures, 'launch failures')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Reconciler passes',
        left: [
          reconcileCount(METRICS.expired, 'expired'),
          reconcileCount(METRICS.rearmed, 're-armed'),
          reconcileCount(METRICS.relaunched, 'relaunched'),
          reconcileCount(METRICS.orphansStopped, 'orphans stopped'),
          reconcileCount(METRICS.strangersStopped, 'strangers stopped'),
          reconcileCount(METRICS.volumesRetired, 'volumes retired'),
        ],
        right: [reconcilerErrors],
      }),
      new cloudwatch.GraphWidget({
        title: 'Task events',
        left: [searchAll(METRICS.taskEvents, 'task events')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Running sandboxes',
        left: [
          // Container Insights' task count exists only where the cluster has it turned on.
          ...(props.containerInsights
            ? [
                new cloudwatch.Metric({
                  namespace: 'ECS/ContainerInsights',
                  metricName: 'TaskCount',
                  dimensionsMap: { ClusterName: props.cluster.clusterName },
                  statistic: 'Maximum',
                  label: 'tasks in the cluster',
                }),
              ]
            : []),
          new cloudwatch.Metric({
            namespace: METRIC_NAMESPACE,
            metricName: METRICS.activeSandboxes,
            dimensionsMap: { [DIMENSIONS.service]: RECONCILER_SERVICE },
            statistic: 'Maximum',
            label: 'live sandboxes (reconciler)',
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Session table',
        left: [props.table.metricConsumedReadCapacityUnits(), props.table.metricConsumedWriteCapacityUnits()],
        right: [props.table.metricThrottledRequestsForOperations({ label: 'throttled requests' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Reconciler summaries',
        logGroupNames: [props.reconcilerLogs.logGroupName],
        queryLines: [
          'fields @timestamp, examined, expired, relaunched, orphansStopped, errors',
          "filter message = 'reconciler summary'",
          'sort @timestamp desc',
          'limit 50',
        ],
        width: 24,
      }),
    );
  }
}
