import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The alarms, each reachable by name for tests and the runbook (docs/operate.md). */
export interface ControlPlaneAlarms {
  readonly apiServerErrorRate: cloudwatch.Alarm;
  readonly reconcilerErrors: cloudwatch.Alarm;
  readonly reconcilerStalled: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  readonly eventsDelayed: cloudwatch.Alarm;
  readonly webhookFailures?: cloudwatch.Alarm;
}

export interface ControlPlaneAlarmsProps {
  /** API 5xx rate in percent, over five minutes. */
  readonly apiErrorRate: cloudwatch.MathExpression;
  /** Failed reconciler runs plus failed sessions, over five minutes. */
  readonly reconcilerErrors: cloudwatch.MathExpression;
  readonly reconciler: lambda.IFunction;
  readonly eventPublisher: lambda.IFunction;
  readonly webhook?: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  /** SNS topic that receives alarm and OK notifications. @default no notifications */
  readonly alarmTopicArn?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The alarms on what means the control plane is failing its users or its invariants: API 5xx rate,
 * reconciler errors, a reconciler that stopped running, anything in the dead-letter queue, late
 * lifecycle events and, with a webhook, failing deliveries.
 */
export function createControlPlaneAlarms(
  scope: Construct,
  props: ControlPlaneAlarmsProps,
): ControlPlaneAlarms {
  const apiServerErrorRate = props.apiErrorRate.createAlarm(scope, 'ApiServerErrorRate', {
    alarmDescription: 'More than 5% of API requests answered 5xx in two of three 5-minute periods',
    threshold: 5,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // A pass can fail as a whole (Lambda Errors) or item by item (its own ReconcileErrors count).
  const reconcilerErrors = props.reconcilerErrors.createAlarm(scope, 'ReconcilerErrors', {
    alarmDescription:
      'The reconciler failed at least 3 times (whole runs or single sessions) within 5 minutes',
    threshold: 3,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // Sessions leave `provisioning`/`stopping` only through the reconciler: its absence is an outage.
  const reconcilerStalled = props.reconciler
    .metricInvocations({ period: Duration.minutes(10), statistic: 'Sum' })
    .createAlarm(scope, 'ReconcilerStalled', {
      alarmDescription: 'The reconciler did not run for 10 minutes',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

  // The publisher's stream lags (it fails and retries, or cannot keep up): events arrive late.
  const eventsDelayed = new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName: 'IteratorAge',
    dimensionsMap: { FunctionName: props.eventPublisher.functionName },
    statistic: 'Maximum',
    period: FIVE_MINUTES,
  }).createAlarm(scope, 'EventsDelayed', {
    alarmDescription:
      'Lifecycle events reach the bus more than 2 minutes late, in two of three 5-minute periods',
    threshold: 120_000,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  const webhookFailures = props.webhook
    ?.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' })
    .createAlarm(scope, 'WebhookFailures', {
      alarmDescription:
        'At least 3 webhook deliveries failed within 5 minutes (each is retried, then dead-lettered)',
      threshold: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

  const deadLetters = props.deadLetterQueue
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
    .createAlarm(scope, 'DeadLetters', {
      alarmDescription:
        'Undeliverable task events, reconciler runs, stream records or webhook deliveries are waiting in the dead-letter queue',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

  const alarms: ControlPlaneAlarms = {
    apiServerErrorRate,
    reconcilerErrors,
    reconcilerStalled,
    deadLetters,
    eventsDelayed,
    ...(webhookFailures ? { webhookFailures } : {}),
  };
  if (props.alarmTopicArn) {
    const topic = sns.Topic.fromTopicArn(scope, 'AlarmTopic', props.alarmTopicArn);
    for (const alarm of alarmList(alarms)) {
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      alarm.addOkAction(new cwActions.SnsAction(topic));
    }
  }
  return alarms;
}

/** The alarms as a list, in a stable order. */
export function alarmList(alarms: ControlPlaneAlarms): cloudwatch.Alarm[] {
  return [
    alarms.apiServerErrorRate,
    alarms.reconcilerErrors,
    alarms.reconcilerStalled,
    alarms.deadLetters,
    alarms.eventsDelayed,
    ...(alarms.webhookFailures ? [alarms.webhookFailures] : []),
  ];
}
