import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SANDBOX_SK } from '../../src/adapters/dynamodb/session-item.js';
import { EVENT_SOURCE } from '../../src/names.js';

export interface EventDeliveryProps {
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
  readonly publisher: lambda.IFunction;
  /** The webhook function, when the stack has a webhook URL. */
  readonly webhook?: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * How lifecycle events leave the control plane: the session table's stream feeds the publisher
 * function (sandbox items only, filtered before the function runs; one batch per shard at a time,
 * so each chat's changes stay in order; a failed record retried, split off, and finally parked in
 * the dead-letter queue), which puts the events on the bus. With a webhook, a rule on the bus
 * invokes the webhook function for every lifecycle event.
 */
export class EventDelivery extends Construct {
  /** The secret webhook deliveries are signed with (the receiver needs its value). */
  readonly webhookSecret?: secretsmanager.Secret;
  readonly webhookRule?: events.Rule;

  constructor(scope: Construct, id: string, props: EventDeliveryProps) {
    super(scope, id);

    props.publisher.addEventSource(
      new eventSources.DynamoEventSource(props.table, {
        // From the oldest record the stream keeps: a publisher deployed after the table misses nothing.
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 20,
        maxRecordAge: Duration.hours(24),
        onFailure: new eventSources.SqsDlq(props.deadLetterQueue),
        filters: [
          lambda.FilterCriteria.filter({
            dynamodb: { Keys: { sk: { S: lambda.FilterRule.isEqual(SANDBOX_SK) } } },
          }),
        ],
      }),
    );

    if (!props.webhook) return;
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'Key of the HMAC signature on lifecycle event webhook deliveries',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The webhook receiver holds the same key; rotating it is a coordinated change with the receiver, made by the operator.',
    });
    this.webhookSecret.grantRead(props.webhook);
    // A failed delivery is retried twice by Lambda, then parked for an operator.
    props.webhook.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(props.deadLetterQueue),
    });
    this.webhookRule = new events.Rule(this, 'WebhookRule', {
      description: 'Every lifecycle event, to the webhook function',
      eventBus: props.bus,
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [
        new targets.LambdaFunction(props.webhook, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });
  }
}
