import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthApp } from './synth.js';
import {
  RECONCILER_FUNCTION,
  type Resource,
  TASK_EVENTS_FUNCTION,
  templateQueries,
} from './template-queries.js';

const { serviceTemplate: template } = synthApp({
  sandboxImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox:1.2.3',
});
const { resources, logicalIdOf, functionId, clusterId } = templateQueries(template);

describe('triggers', () => {
  it('sends ECS task state changes of this cluster, and only those, to task-events', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: { clusterArn: [{ 'Fn::GetAtt': [clusterId(), 'Arn'] }], lastStatus: ['RUNNING', 'STOPPED'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId(TASK_EVENTS_FUNCTION), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 8 }),
        }),
      ],
    });
  });

  it('runs the reconciler every minute through Scheduler, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [functionId(RECONCILER_FUNCTION), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
      }),
    });
  });

  it('parks failed asynchronous runs of both functions in the dead-letter queue', () => {
    for (const [description, retries] of [
      [TASK_EVENTS_FUNCTION, 2],
      [RECONCILER_FUNCTION, 0],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId(description) },
        MaximumRetryAttempts: retries,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
        },
      });
    }
  });

  it('keeps the dead-letter queue encrypted and TLS-only', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('operations', () => {
  const alarm = (description: RegExp) =>
    logicalIdOf('AWS::CloudWatch::Alarm', (r) => description.test(String(r.Properties.AlarmDescription)));

  it('alarms when more than 5% of API requests fail with 5xx', () => {
    const id = alarm(/5xx/);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(requests > 0, 100 * errors / requests, 0)' }),
        Match.objectLike({
          Id: 'requests',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Count' }) }),
        }),
        Match.objectLike({
          Id: 'errors',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5xx' }) }),
        }),
      ]),
    });
    expect(id).toMatch(/ApiServerErrorRate/);
  });

  it('alarms on reconciler errors, whole runs or single sessions, and on a reconciler that stopped running', () => {
    const reconciler = { Name: 'FunctionName', Value: { Ref: functionId(RECONCILER_FUNCTION) } };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('reconciler failed'),
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(failedRuns, 0) + FILL(failedItems, 0)' }),
        Match.objectLike({
          Id: 'failedRuns',
          MetricStat: Match.objectLike({
            Metric: { MetricName: 'Errors', Namespace: 'AWS/Lambda', Dimensions: [reconciler] },
          }),
        }),
        Match.objectLike({
          Id: 'failedItems',
          MetricStat: Match.objectLike({
            Metric: {
              MetricName: 'ReconcileErrors',
              Namespace: 'AgentSandbox',
              Dimensions: [{ Name: 'service', Value: 'sandbox-reconciler' }],
            },
          }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('did not run'),
      MetricName: 'Invocations',
      Dimensions: [reconciler],
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms as soon as anything lands in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    // API 5xx, reconciler errors, reconciler stalled, dead letters, events delayed.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
  });

  it('notifies an SNS topic when one is given', () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:ops';
    const { serviceTemplate } = synthApp({ alarmTopicArn: topic });
    serviceTemplate.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it('has a dashboard of API, function, sandbox, table and queue metrics', () => {
    const [[, dashboard]] = resources('AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of [
      'API requests and errors',
      'Reconciler passes',
      'ReconcileOrphansStopped',
      'Function errors and throttles',
      'Running sandboxes',
      'Session table',
      'Dead-letter queue depth',
      'Reconciler summaries',
    ]) {
      expect(body).toContain(title);
    }
  });
});
