import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CloudWatchSandboxLogs } from '../../src/adapters/logs/cloudwatch-logs.js';
import { logStreamsSection } from '../../src/config/aws.js';
import { parseSections } from '../../src/config/env.js';
import type { Session } from '../../src/core/model.js';
import { ENV } from '../../src/names.js';
import { synthApp } from './synth.js';
import { LOGS_FUNCTION, type Resource, templateQueries } from './template-queries.js';

const profile = (name: string, logging: unknown) => ({
  name,
  image: 'repo/agent:1',
  cpu: 256,
  memoryMiB: 512,
  port: 8080,
  logging,
});

/** The logs function's environment and the statements of its role, in one synthesized app. */
function logsFunctionOf(profiles: unknown[]) {
  const { serviceTemplate: template } = synthApp({ profiles: JSON.stringify(profiles) });
  const queries = templateQueries(template);
  const [, fn] = queries
    .resources('AWS::Lambda::Function')
    .find(([, f]) => f.Properties.Description === LOGS_FUNCTION)!;
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  const statements = (queries.resources('AWS::IAM::Policy') as [string, Resource][])
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Sid?: string }[] }).Statement);
  return { template, queries, streams: variables[ENV.logStreams], statements };
}

/** A client that fails the test if the adapter calls it. */
const untouchable = {
  send: () => {
    throw new Error('no CloudWatch call expected');
  },
} as unknown as CloudWatchLogsClient;

const sessionOf = (profileName: string) =>
  ({
    profile: profileName,
    runtimeRef: 'arn:aws:ecs:us-east-1:123456789012:task/cluster/0123456789abcdef0123456789abcdef',
  }) as Session;

describe('sandbox logging per profile', () => {
  it('leaves a profile with logging off out of SANDBOX_LOG_STREAMS, with no log driver and no log group', () => {
    const { template, streams } = logsFunctionOf([profile('quiet', 'none'), profile('chatty', 'cloudwatch')]);
    expect(JSON.stringify(streams)).toContain('chatty');
    expect(JSON.stringify(streams)).not.toContain('quiet');
    const definitions = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as Resource[];
    const containers = definitions.map(
      (d) => (d.Properties.ContainerDefinitions as { Name: string; LogConfiguration?: unknown }[])[0]!,
    );
    expect(containers.map((c) => Boolean(c.LogConfiguration))).toEqual([false, true]);
    const groups = Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) =>
      id.includes('Profile'),
    );
    expect(groups).toEqual([expect.stringContaining('Profilechatty')]);
  });

  it('sends a Splunk profile’s output to Splunk with the token from Secrets Manager, and not to the logs route', () => {
    const tokenSecretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hec-AbCdEf';
    const { template, streams } = logsFunctionOf([
      profile('splunked', { splunk: { url: 'https://splunk.example.com:8088', tokenSecretArn } }),
      profile('default', 'cloudwatch'),
    ]);
    expect(JSON.stringify(streams)).not.toContain('splunked');
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          LogConfiguration: {
            LogDriver: 'splunk',
            Options: { 'splunk-url': 'https://splunk.example.com:8088' },
            SecretOptions: [{ Name: 'splunk-token', ValueFrom: tokenSecretArn }],
          },
        }),
      ],
    });
  });

  it('refuses a Splunk token given by partial ARN, which would need a wildcard grant', () => {
    expect(() =>
      logsFunctionOf([
        profile('splunked', {
          splunk: {
            url: 'https://splunk.example.com:8088',
            tokenSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hec',
          },
        }),
      ]),
    ).toThrow(/complete ARN/);
  });

  it('keeps the logs function working when no profile logs to CloudWatch: no grant, and no lines', async () => {
    const { streams, statements } = logsFunctionOf([profile('default', 'none')]);
    expect(statements.map((s) => s.Sid)).not.toContain('ReadSandboxLogs');
    // The value is plain JSON here (no log group to refer to): the function's own configuration takes it.
    expect(typeof streams).toBe('string');
    const { streams: parsed } = parseSections(
      { [ENV.logStreams]: streams as string },
      { streams: logStreamsSection },
    );
    expect(Object.keys(parsed)).not.toContain('default');
    const answer = await new CloudWatchSandboxLogs(untouchable, parsed).read(sessionOf('default'), {
      start: { from: 'tail', tail: 100 },
      since: null,
    });
    expect(answer).toEqual({ ok: true, lines: [], position: '0:' });
  });
});
