import { readFileSync } from 'node:fs';
import { TOKEN_HASH } from './template-queries.js';

/** The CDK context keys the parameter table of docs/deploy.md documents, in its order. */
export function documentedParameters(): string[] {
  const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const start = doc.indexOf('| parameter | default | meaning |');
  if (start < 0) throw new Error('docs/deploy.md has no parameter table');
  const rows = doc.slice(start).split('\n').slice(2);
  const table = rows.slice(
    0,
    rows.findIndex((line) => !line.startsWith('|')),
  );
  return table.flatMap((row) => {
    const first = row.split('|')[1] ?? '';
    return [...first.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]!);
  });
}

const SPLUNK_TOKEN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-hec-AbCdEf';

/**
 * Context sets that between them set every documented option (a test checks that against the doc),
 * each one a configuration an operator could deploy.
 */
export const DOCUMENTED_OPTION_SETS: [string, Record<string, unknown>][] = [
  ['the defaults (the example agent)', {}],
  [
    'an ECR image with its size, port, health check and profile name, in token auth mode',
    {
      sandboxImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox:1',
      sandboxCpu: '2048',
      sandboxMemoryMiB: '4096',
      sandboxPort: '3000',
      sandboxHealthPath: '/health',
      sandboxProfile: 'main',
      authMode: 'token',
      apiTokenHashes: JSON.stringify({ [TOKEN_HASH]: 'tenant-a' }),
    },
  ],
  [
    'private subnets of an existing VPC with their route tables, open egress, shorter retention, no backups',
    {
      vpcId: 'vpc-0abc1234def567890',
      subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
      assignPublicIp: 'false',
      routeTableIds: 'rtb-0aaa1111bbbb22223,rtb-0bbb3333cccc44445',
      sandboxEgress: 'all',
      logRetentionDays: '7',
      sandboxLogRetentionDays: '1',
      automaticBackups: 'false',
    },
  ],
  [
    'a list of profiles: a task role with an AWS managed policy, no logs, Splunk, own command and user',
    {
      profiles: JSON.stringify([
        {
          name: 'reader',
          image: 'public.ecr.aws/docker/library/python:3.13-slim',
          cpu: 512,
          memoryMiB: 1024,
          port: 8080,
          taskRoleManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
          healthCheck: { path: '/health' },
          logging: 'none',
        },
        {
          name: 'shipped',
          image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/agent@sha256:${'a'.repeat(64)}`,
          cpu: 1024,
          memoryMiB: 2048,
          port: 9000,
          containerName: 'agent',
          command: ['node', 'server.js'],
          user: '1000:1000',
          logging: { splunk: { url: 'https://splunk.example.com:8088', tokenSecretArn: SPLUNK_TOKEN } },
        },
      ]),
    },
  ],
  [
    'a webhook, alarm notifications, limits, expiry lead, archive retention, storage quota and a stack prefix',
    {
      webhookUrl: 'https://hooks.example.com/sandbox',
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      tenantMaxLive: '100',
      ownerMaxLive: '5',
      expiringLeadSeconds: '300',
      defaultAgentId: 'legacy-agent',
      eventArchiveRetentionDays: '7',
      ownerStorageBytes: String(5 * 1024 ** 3),
      stackPrefix: 'Agents',
    },
  ],
  [
    'no alarms, no dashboard, Container Insights, sandbox logging off',
    { alarms: 'false', dashboard: 'false', containerInsights: 'true', sandboxLogging: 'none' },
  ],
];
