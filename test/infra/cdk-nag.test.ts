import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { DOCUMENTED_OPTION_SETS, documentedParameters } from './documented-options.js';
import { synthApp } from './synth.js';

const TOKENS = JSON.stringify({ ['ab'.repeat(32)]: 'tenant-a' });

/** Rule ids of every AwsSolutions finding in the app that is not acknowledged. */
function findings(context: Record<string, unknown> = {}, extend?: (service: IConstruct) => void): string[] {
  const { app, service } = synthApp(context);
  extend?.(service);
  const result = new AwsSolutionsChecks(app).validateScope(app);
  return result.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
  );
}

/** Every acknowledgment recorded in the construct tree: rule id -> reason, with the path it sits on. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
            path: c.node.path,
            id: id.replace(/^annotation::/i, ''),
            reason,
          })),
        ),
    )
    .filter((ack) => ack.id.startsWith('AwsSolutions-'));
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['the default deployment', {}],
    [
      'an ECR image in token auth mode',
      {
        sandboxImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox:1',
        authMode: 'token',
        apiTokenHashes: TOKENS,
      },
    ],
    [
      'an existing VPC with HTTPS-only egress',
      {
        vpcId: 'vpc-0abc1234def567890',
        subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
        sandboxEgress: 'https-only',
      },
    ],
    [
      'private subnets of an existing VPC, with a DynamoDB gateway endpoint on their route tables',
      {
        vpcId: 'vpc-0abc1234def567890',
        subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
        assignPublicIp: 'false',
        routeTableIds: 'rtb-0aaa1111bbbb22223',
      },
    ],
  ])('reports no unacknowledged finding for %s', (_name, context) => {
    expect(findings(context)).toEqual([]);
  });

  // Two full syntheses with validation: slower than the other tests.
  it('fails synthesis through the validation plugin the app registers when a finding is not acknowledged', {
    timeout: 120_000,
  }, () => {
    const clean = synthApp();
    Validations.of(clean.app).addPlugins(new AwsSolutionsChecks(clean.app));
    expect(() => clean.app.synth()).not.toThrow();

    const dirty = synthApp();
    new sqs.Queue(dirty.service, 'PlainQueue');
    Validations.of(dirty.app).addPlugins(new AwsSolutionsChecks(dirty.app));
    expect(() => dirty.app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  it('catches a finding nobody acknowledged', () => {
    const found = findings({}, (service) => new sqs.Queue(service, 'PlainQueue'));
    expect(found).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SQS3 at Test-Service/PlainQueue/Resource',
        'AwsSolutions-SQS4 at Test-Service/PlainQueue/Resource',
      ]),
    );
  });

  it('acknowledges only the expected rules, each with a real reason', () => {
    const { app } = synthApp({ authMode: 'token', apiTokenHashes: TOKENS });
    const acks = acknowledgments(app);
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
    const rules = [...new Set(acks.map((a) => a.id.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-ECS4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-SQS3',
      'AwsSolutions-VPC7',
    ]);
    // IAM5 is acknowledged per finding (one wildcard resource each), never for a whole policy.
    for (const ack of acks.filter((a) => a.id.includes('IAM5')))
      expect(ack.id).toMatch(/IAM5\[Resource::.+\]$/);
  });

  it('acknowledges an AWS managed policy only where a profile names it, one finding per policy', () => {
    const { app } = synthApp({
      profiles: [
        {
          name: 'reader',
          image: 'repo/agent:1',
          cpu: 256,
          memoryMiB: 512,
          port: 8080,
          taskRoleManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
        },
      ],
    });
    const iam4 = acknowledgments(app).filter((a) => a.id.startsWith('AwsSolutions-IAM4'));
    expect(iam4.map((a) => [a.id, a.path])).toEqual([
      [
        'AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess]',
        'Test-Service/Sandboxes/Profile-reader/TaskRole',
      ],
    ]);
  });
});

describe('every documented option', () => {
  it('is set by at least one of the option sets synthesized below', () => {
    const covered = new Set(DOCUMENTED_OPTION_SETS.flatMap(([, context]) => Object.keys(context)));
    expect(documentedParameters().filter((key) => !covered.has(key))).toEqual([]);
  });

  // Each set is synthesized as `npm run synth` does it: the cdk-nag plugin of infra/bin/app.ts and the
  // CloudFormation validation cdk.json turns on, both failing the synthesis on a finding.
  it.each(DOCUMENTED_OPTION_SETS)(
    'synthesizes %s with the nag checks and template validation on',
    {
      timeout: 60_000,
    },
    (_name, context) => {
      const { app } = synthApp(context);
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
      expect(() => app.synth()).not.toThrow();
    },
  );
});
