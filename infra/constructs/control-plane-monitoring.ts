import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIMENSIONS, METRIC_NAMESPACE, METRICS, SERVICES } from '../../src/names.js';

export interface ControlPlaneMonitoringProps {
  readonly httpApi: apigw.HttpApi;
  readonly functions: {
    readonly api: lambda.IFunction;
    readonly taskEvents: lambda.IFunction;
    readonly reconciler: lambda.IFunction;
    readonly eventPublisher: lambda.IFunction;
    readonly logs?: lambda.IFunction;
    readonly webhook?: lambda.IFunction;
  };
  readonly reconcilerLogs: logs.ILogGroup;
  readonly deadLetterQueue: sqs.IQueue;
  readonly table: dynamodb.ITable;
  readonly cluster: ecs.ICluster;
  /** SNS topic that receives alarm and OK notifications. @default no notifications */
  readonly alarmTopicArn?: string;
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
 * Alarms on what means the control plane is failing its users or its invariants (API 5xx rate,
 * reconciler errors, a reconciler that stopped running, anything in the dead-letter queue) and one
 * dashboard of its metrics.
 */
export class ControlPlaneMonitoring extends Construct {
  readonly apiServerErrorRate: cloudwatch.Alarm;
  readonly reconcilerErrors: cloudwatch.Alarm;
  readonly reconcilerStalled: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  readonly eventsDelayed: cloudwatch.Alarm;
  readonly webhookFailures?: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

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
    this.apiServerErrorRate = errorRate.createAlarm(this, 'ApiServerErrorRate', {
      alarmDescription: 'More than 5% of API requests answered 5xx in two of three 5-minute periods',
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A pass can fail as a whole (Lambda Errors) or item by item (its own ReconcileErrors count).
    const reconcilerErrors = new cloudwatch.MathExpression({
      label: 'Reconciler errors',
      expression: 'FILL(failedRuns, 0) + FILL(failedItems, 0)',
      usingMetrics: {
        failedRuns: functions.reconciler.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        failedItems: reconcileCount(METRICS.errors, 'failed items'),
      },
      period: FIVE_MINUTES,
    });
    this.reconcilerErrors = reconcilerErrors.createAlarm(this, 'ReconcilerErrors', {
      alarmDescription:
        'The reconciler failed at least 3 times (whole runs or single sessions) within 5 minutes',
      threshold: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Sessions leave `provisioning`/`stopping` only through the reconciler: its absence is an outage.
    this.reconcilerStalled = functions.reconciler
      .metricInvocations({ period: Duration.minutes(10), statistic: 'Sum' })
      .createAlarm(this, 'ReconcilerStalled', {
        alarmDescription: 'The reconciler did not run for 10 minutes',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });

    // The publisher's stream lags (it fails and retries, or cannot keep up): events arrive late.
    this.eventsDelayed = new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'IteratorAge',
      dimensionsMap: { FunctionName: functions.eventPublisher.functionName },
      statistic: 'Maximum',
      period: FIVE_MINUTES,
    }).createAlarm(this, 'EventsDelayed', {
      alarmDescription:
        'Lifecycle events reach the bus more than 2 minutes late, in two of three 5-minute periods',
      threshold: 120_000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (functions.webhook) {
      this.webhookFailures = functions.webhook
        .metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' })
        .createAlarm(this, 'WebhookFailures', {
          alarmDescription:
            'At least 3 webhook deliveries failed within 5 minutes (each is retried, then dead-lettered)',
          threshold: 3,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
    }

    this.deadLetters = props.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetters', {
        alarmDescription:
          'Undeliverable task events, reconciler runs, stream records or webhook deliveries are waiting in the dead-letter queue',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    const alarms = [
      this.apiServerErrorRate,
      this.reconcilerErrors,
      this.reconcilerStalled,
      this.deadLetters,
      this.eventsDelayed,
      ...(this.webhookFailures ? [this.webhookFailures] : []),
    ];
    if (props.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      for (const alarm of alarms) {
        alarm.addAlarmAction(new cwActions.SnsAction(topic));
        alarm.addOkAction(new cwActions.SnsAction(topic));
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [requests, httpApi.metricClientError({ period: FIVE_MINUTES }), serverErrors],
        right: [errorRate],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (p50, p99)',
        left: [httpApi.metricLatency({ statistic: 'p50' }), httpApi.metricLatency({ statistic: 'p99' })],
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms,
      }),
    );
    const named = Object.entries(functions);
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Running sandboxes',
        left: [
          new cloudwatch.Metric({
            namespace: 'ECS/ContainerInsights',
            metricName: 'TaskCount',
            dimensionsMap: { ClusterName: props.cluster.clusterName },
            statistic: 'Maximum',
            label: 'tasks in the cluster',
          }),
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
    this.dashboard.addWidgets(
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
