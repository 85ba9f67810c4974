/**
 * The lifecycle event infrastructure: the bus and its archive in the stateful stack, the stream to
 * the publisher with its filter and failure handling, and the optional signed webhook.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EVENT_BUS_LOGICAL_ID } from '../../infra/constructs/sandbox-events.js';
import { ENV, EVENT_SOURCE } from '../../src/names.js';
import { synthApp } from './synth.js';

const PUBLISHER = 'Puts sandbox lifecycle events on the event bus';
const WEBHOOK = 'Delivers sandbox lifecycle events to the webhook';

function only(template: Template, type: string): Record<string, unknown> {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return (found[0] as { Properties: Record<string, unknown> }).Properties;
}

describe('lifecycle events on AWS', () => {
  const { statefulTemplate, serviceTemplate } = synthApp();

  it('keeps the bus in the stateful stack, retained under a pinned logical id, with a 30-day archive', () => {
    statefulTemplate.hasResource('AWS::Events::EventBus', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(Object.keys(statefulTemplate.findResources('AWS::Events::EventBus'))).toEqual([
      EVENT_BUS_LOGICAL_ID,
    ]);
    statefulTemplate.hasResourceProperties('AWS::Events::Archive', {
      RetentionDays: 30,
      EventPattern: { source: [EVENT_SOURCE] },
    });
    statefulTemplate.hasOutput('EventBusName', { Export: { Name: 'Test-Stateful-EventBusName' } });
  });

  it('takes the archive retention from context', () => {
    synthApp({ eventArchiveRetentionDays: '90' }).statefulTemplate.hasResourceProperties(
      'AWS::Events::Archive',
      {
        RetentionDays: 90,
      },
    );
  });

  it('turns on the table stream with both images', () => {
    statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('feeds sandbox items only to the publisher, in order per shard, retried, split and dead-lettered', () => {
    const mapping = only(serviceTemplate, 'AWS::Lambda::EventSourceMapping');
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 20,
      MaximumRecordAgeInSeconds: 86_400,
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { sk: { S: ['SANDBOX'] } } } }) }],
      },
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [expect.stringMatching(/^TriggersDeadLetterQueue/), 'Arn'] },
        },
      },
    });
  });

  it('lets the publisher put events on the bus and read the stream, and names the bus to it', () => {
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: PUBLISHER,
      Environment: { Variables: Match.objectLike({ [ENV.eventBusName]: Match.anyValue() }) },
    });
    const policies = JSON.stringify(serviceTemplate.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('events:PutEvents');
    expect(policies).toContain('dynamodb:GetRecords');
    // Not in the default deployment: no webhook resources.
    expect(serviceTemplate.findResources('AWS::SecretsManager::Secret')).toEqual({});
    expect(JSON.stringify(serviceTemplate.toJSON())).not.toContain(WEBHOOK);
  });

  it('alarms when events reach the bus late', () => {
    serviceTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Threshold: 120_000,
    });
  });

  describe('with a webhook URL', () => {
    const { serviceTemplate: template } = synthApp({ webhookUrl: 'https://hooks.example.com/sandboxes' });

    it('routes every lifecycle event on the bus to the webhook function, which reads a generated secret', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: [EVENT_SOURCE] },
        Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
      });
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: WEBHOOK,
        Environment: {
          Variables: Match.objectLike({
            [ENV.webhookUrl]: 'https://hooks.example.com/sandboxes',
            [ENV.webhookSecretArn]: Match.anyValue(),
          }),
        },
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: Match.anyValue() },
      });
      template.hasOutput('WebhookSecretArn', {});
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Threshold: 3 });
    });

    it('refuses a webhook URL that is not https', () => {
      expect(() => synthApp({ webhookUrl: 'http://hooks.example.com/x' })).toThrow(/webhookUrl/);
    });
  });
});
