import { readFileSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthApp } from './synth.js';

/**
 * Resource types that bill every month whether or not anything happens, with what one costs: the
 * rows of docs/deploy.md's idle table that name them must state the templates' counts and prices.
 */
const MONTHLY = {
  'AWS::CloudWatch::Dashboard': 3.0,
  'AWS::SecretsManager::Secret': 0.4,
  'AWS::KMS::Key': 1.0,
  'AWS::EC2::NatGateway': 32.4,
  'AWS::EC2::VPCEndpoint': 7.2,
  'AWS::EC2::EIP': 3.6,
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 16.2,
} as const;

/**
 * A gateway endpoint (DynamoDB, S3) bills neither hours nor data, unlike an interface endpoint (the
 * $7.20 of `AWS::EC2::VPCEndpoint` above), so it is counted under a type of its own.
 */
const GATEWAY_ENDPOINT = 'AWS::EC2::VPCEndpoint (Gateway)';

/** $0.10 per alarm metric: an alarm reads one metric, or each metric of its math expression. */
const PER_ALARM_METRIC = 0.1;

/**
 * Every other resource type the templates hold, and why it costs nothing while idle: each bills by
 * use only, or not at all. A new resource type fails the test until it is classified here or above.
 */
const BILLED_BY_USE_ONLY: Record<string, string> = {
  'AWS::EC2::VPC': 'free',
  'AWS::EC2::Subnet': 'free',
  'AWS::EC2::RouteTable': 'free',
  'AWS::EC2::SubnetRouteTableAssociation': 'free',
  'AWS::EC2::Route': 'free',
  'AWS::EC2::InternetGateway': 'free; data transfer is billed per GB',
  'AWS::EC2::VPCGatewayAttachment': 'free',
  [GATEWAY_ENDPOINT]: 'free: the DynamoDB gateway endpoint the storage function reaches the table through',
  'AWS::EC2::SecurityGroup': 'free',
  'AWS::EC2::SecurityGroupEgress': 'free',
  'AWS::EC2::SecurityGroupIngress': 'free',
  'Custom::VpcRestrictDefaultSG': 'a Lambda function run at deploy time only',
  'AWS::IAM::Role': 'free',
  'AWS::IAM::Policy': 'free',
  'AWS::IAM::ManagedPolicy': 'free',
  'AWS::Lambda::Function': 'per request and GB-second (the reconciler rows of the table)',
  'AWS::Lambda::Permission': 'free',
  'AWS::Lambda::EventInvokeConfig': 'free',
  'AWS::Lambda::EventSourceMapping': "free: Lambda's reads of a table stream are not billed",
  'AWS::DynamoDB::Table': 'on demand: per request (the reconciler rows) and per GB stored',
  'AWS::EFS::FileSystem': 'per GB stored and transferred',
  'AWS::EFS::MountTarget': 'free',
  'AWS::EFS::AccessPoint': 'free',
  'AWS::Events::EventBus': 'per custom event put',
  'AWS::Events::Archive': 'per GB archived',
  'AWS::Events::Rule': 'free; targets bill by use',
  'AWS::Scheduler::Schedule': 'per invocation (the Scheduler row)',
  'AWS::ECS::Cluster': 'free; Fargate bills per task',
  'AWS::ECS::ClusterCapacityProviderAssociations': 'free',
  'AWS::ECS::TaskDefinition': 'free',
  'AWS::Logs::LogGroup': 'per GB ingested and stored (the CloudWatch Logs row)',
  'AWS::ApiGatewayV2::Api': 'per request',
  'AWS::ApiGatewayV2::Integration': 'free',
  'AWS::ApiGatewayV2::Route': 'free',
  'AWS::ApiGatewayV2::Stage': 'free',
  'AWS::SQS::Queue': 'per request',
  'AWS::SQS::QueuePolicy': 'free',
  'AWS::CloudWatch::Alarm': 'per alarm metric (counted separately)',
};

interface Counts {
  readonly byType: Record<string, number>;
  readonly alarmMetrics: number;
}

function count(templates: readonly Template[]): Counts {
  const byType: Record<string, number> = {};
  let alarmMetrics = 0;
  for (const template of templates) {
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties?: Record<string, unknown> }
    >;
    for (const resource of Object.values(resources)) {
      // CloudFormation's default endpoint type is Gateway.
      const gateway =
        resource.Type === 'AWS::EC2::VPCEndpoint' &&
        (resource.Properties?.VpcEndpointType ?? 'Gateway') === 'Gateway';
      const type = gateway ? GATEWAY_ENDPOINT : resource.Type;
      byType[type] = (byType[type] ?? 0) + 1;
      if (resource.Type !== 'AWS::CloudWatch::Alarm') continue;
      const metrics = resource.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
      alarmMetrics += metrics ? metrics.filter((m) => m.MetricStat).length : 1;
    }
  }
  return { byType, alarmMetrics };
}

function countsOf(context: Record<string, unknown> = {}): Counts {
  const { statefulTemplate, serviceTemplate } = synthApp(context);
  return count([statefulTemplate, serviceTemplate]);
}

/** The table under a heading of docs/deploy.md, as rows of cells. */
function docTable(heading: string): string[][] {
  const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const from = doc.indexOf(heading);
  expect(from, heading).toBeGreaterThan(0);
  const lines = doc.slice(from).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start + 2, end).map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

const dollars = (cell: string) => Number(cell.replace(/[^0-9.-]/g, ''));
const idle = docTable('### While idle');
const row = (item: string) => {
  const found = idle.find(([name]) => name === item);
  expect(found, item).toBeDefined();
  return found!;
};
const counted = (counts: Counts, type: string) => counts.byType[type] ?? 0;

describe('the idle cost in docs/deploy.md', () => {
  const defaults = countsOf();

  it('classifies every resource type of the templates as billed monthly or billed by use only', () => {
    const unclassified = Object.keys(defaults.byType).filter(
      (type) => !(type in MONTHLY) && !(type in BILLED_BY_USE_ONLY),
    );
    expect(unclassified).toEqual([]);
  });

  it('states the alarms the templates hold, and their price', () => {
    const alarms = counted(defaults, 'AWS::CloudWatch::Alarm');
    expect([alarms, defaults.alarmMetrics]).toEqual([5, 7]);
    const [, what, , perMonth] = row('CloudWatch alarms');
    expect(what).toContain(
      `${alarms} \`AWS::CloudWatch::Alarm\`, reading ${defaults.alarmMetrics} alarm metrics`,
    );
    expect(dollars(perMonth!)).toBeCloseTo(defaults.alarmMetrics * PER_ALARM_METRIC, 6);
  });

  it('states every monthly-billed resource type with its count and price, line by line', () => {
    const rows: Record<string, readonly (keyof typeof MONTHLY)[]> = {
      'CloudWatch dashboard': ['AWS::CloudWatch::Dashboard'],
      'Secrets Manager': ['AWS::SecretsManager::Secret'],
      'KMS keys': ['AWS::KMS::Key'],
      'Hourly network resources': [
        'AWS::EC2::NatGateway',
        'AWS::EC2::VPCEndpoint',
        'AWS::EC2::EIP',
        'AWS::ElasticLoadBalancingV2::LoadBalancer',
      ],
    };
    expect(Object.values(rows).flat().sort()).toEqual(Object.keys(MONTHLY).sort());
    // The free gateway endpoint is named too, so no reader takes it for an interface endpoint.
    expect(row('Hourly network resources')[1]).toContain(
      `${counted(defaults, GATEWAY_ENDPOINT)} DynamoDB gateway endpoint`,
    );
    for (const [item, types] of Object.entries(rows)) {
      const [, what, , perMonth] = row(item);
      let cost = 0;
      for (const type of types) {
        expect(what).toContain(`${counted(defaults, type)} \`${type}\``);
        cost += counted(defaults, type) * MONTHLY[type];
      }
      expect(dollars(perMonth!), item).toBeCloseTo(cost, 6);
    }
  });

  it('adds its rows up to the total it states', () => {
    const total = idle.find(([name]) => name === '**total**')!;
    const sum = idle.filter(([name]) => name !== '**total**').reduce((s, cells) => s + dollars(cells[3]!), 0);
    expect(dollars(total[3]!)).toBeCloseTo(Math.round(sum * 100) / 100, 6);
  });

  it('states what the options that change it add or remove', () => {
    const options = docTable('Options that change it');
    const option = (key: string) => options.find(([name]) => name === key)!;
    const diff = (counts: Counts, type: string) => counted(counts, type) - counted(defaults, type);

    const noDashboard = countsOf({ dashboard: 'false' });
    expect(option('`dashboard=false`')[1]).toContain(
      `${diff(noDashboard, 'AWS::CloudWatch::Dashboard')} \`AWS::CloudWatch::Dashboard\``,
    );
    expect(dollars(option('`dashboard=false`')[2]!)).toBeCloseTo(-MONTHLY['AWS::CloudWatch::Dashboard'], 6);

    const noAlarms = countsOf({ alarms: 'false' });
    expect(counted(noAlarms, 'AWS::CloudWatch::Alarm')).toBe(0);
    expect(option('`alarms=false`')[1]).toContain(
      `${diff(noAlarms, 'AWS::CloudWatch::Alarm')} \`AWS::CloudWatch::Alarm\``,
    );
    expect(option('`alarms=false`')[1]).toContain(
      `(${noAlarms.alarmMetrics - defaults.alarmMetrics} alarm metrics)`,
    );
    expect(dollars(option('`alarms=false`')[2]!)).toBeCloseTo(-defaults.alarmMetrics * PER_ALARM_METRIC, 6);

    const webhook = countsOf({ webhookUrl: 'https://hooks.example.com/x' });
    const [, what, perMonth] = option('`webhookUrl`');
    expect(what).toContain(`+${diff(webhook, 'AWS::CloudWatch::Alarm')} \`AWS::CloudWatch::Alarm\``);
    expect(what).toContain(`(+${webhook.alarmMetrics - defaults.alarmMetrics} alarm metric)`);
    expect(what).toContain(
      `+${diff(webhook, 'AWS::SecretsManager::Secret')} \`AWS::SecretsManager::Secret\``,
    );
    const added =
      (webhook.alarmMetrics - defaults.alarmMetrics) * PER_ALARM_METRIC +
      diff(webhook, 'AWS::SecretsManager::Secret') * MONTHLY['AWS::SecretsManager::Secret'];
    expect(dollars(perMonth!)).toBeCloseTo(added, 6);
  });
});
