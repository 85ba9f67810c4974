import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.js';

export interface ControlPlaneTriggersProps {
  readonly cluster: ecs.ICluster;
  readonly taskEvents: lambda.IFunction;
  readonly reconciler: lambda.IFunction;
}

/**
 * What drives the control plane besides the API: ECS task state changes of this cluster go to the
 * task-events function, and EventBridge Scheduler runs the reconciler every minute. Anything that
 * cannot be delivered or keeps failing ends in one dead-letter queue, which an alarm watches.
 */
export class ControlPlaneTriggers extends Construct {
  readonly deadLetterQueue: sqs.Queue;
  readonly taskStateRule: events.Rule;
  readonly reconcileSchedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ControlPlaneTriggersProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rule, the schedule and both functions.',
    });
    const onFailure = new SqsDestination(this.deadLetterQueue);

    // Events repeat and arrive out of order anyway; a failed one is retried twice, then parked.
    props.taskEvents.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1), onFailure });
    this.taskStateRule = new events.Rule(this, 'TaskStateChange', {
      description: 'ECS task state changes of the sandbox cluster',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        // Core acts only on RUNNING and STOPPED; the intermediate statuses would only cost invocations.
        detail: { clusterArn: [props.cluster.clusterArn], lastStatus: ['RUNNING', 'STOPPED'] },
      },
      targets: [
        new targets.LambdaFunction(props.taskEvents, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });

    // A reconcile pass is superseded by the next one a minute later, so stale retries are pointless.
    props.reconciler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1), onFailure });
    // Only schedules of this account may assume the role (confused-deputy prevention, EventBridge
    // Scheduler User Guide: docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'EventBridge Scheduler invokes the sandbox reconciler',
    });
    this.reconcileSchedule = new scheduler.Schedule(this, 'ReconcileSchedule', {
      description: 'Run the sandbox reconciler',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new schedulerTargets.LambdaInvoke(props.reconciler, {
        role: schedulerRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(1),
      }),
    });
    acknowledgeWildcardResources(schedulerRole, [
      {
        resource: `${props.reconciler.functionArn}:*`,
        reason: 'Versions and aliases of the reconciler function only, as granted by the CDK Lambda target.',
      },
    ]);
  }
}
