import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { readAppConfig } from '../../infra/bin/app-config.js';
import { EXAMPLE_AGENT_IMAGE, exampleAgentSource } from '../../infra/bin/example-agent.js';

const read = (context: Record<string, unknown>) => readAppConfig((key) => context[key]);

describe('app context', () => {
  it('defaults to the example agent, a new VPC, IAM auth, HTTPS-only egress and a month of logs', () => {
    const config = read({});
    expect(config).toMatchObject({
      stackPrefix: 'AgentSandbox',
      exampleAgent: true,
      existingVpc: undefined,
      authMode: 'iam',
      sandboxEgress: 'https-only',
      logRetention: RetentionDays.ONE_MONTH,
      sandboxLogRetention: RetentionDays.ONE_MONTH,
      alarms: true,
      dashboard: true,
      containerInsights: false,
      automaticBackups: true,
      limits: { tenantMaxLive: undefined, ownerMaxLive: undefined },
    });
    expect(config.profiles).toEqual([
      {
        name: 'default',
        image: EXAMPLE_AGENT_IMAGE,
        cpu: 1024,
        memoryMiB: 2048,
        port: 8080,
        logging: 'cloudwatch',
        command: ['node', '--input-type=module', '-e', exampleAgentSource()],
        user: '1000:1000',
        healthCheck: { command: ['node', '-e', expect.stringContaining('"http://127.0.0.1:8080/health"')] },
      },
    ]);
  });

  it('runs the example agent’s health check on the configured port and path', () => {
    const [profile] = read({ sandboxPort: '3000', sandboxHealthPath: '/ready' }).profiles;
    expect(profile?.healthCheck?.command?.[2]).toContain('"http://127.0.0.1:3000/ready"');
  });

  it('reads the optional monitoring, logging and retention switches', () => {
    const config = read({
      alarms: 'false',
      dashboard: 'false',
      containerInsights: 'true',
      sandboxLogging: 'none',
      sandboxLogRetentionDays: '7',
      sandboxEgress: 'all',
    });
    expect(config).toMatchObject({
      alarms: false,
      dashboard: false,
      containerInsights: true,
      sandboxLogRetention: RetentionDays.ONE_WEEK,
      sandboxEgress: 'all',
    });
    expect(config.profiles[0]?.logging).toBe('none');
  });

  it("reads the compatibility route's default agent, refusing one the API would refuse", () => {
    expect(read({}).defaultAgentId).toBeUndefined();
    expect(read({ defaultAgentId: 'legacy-agent' }).defaultAgentId).toBe('legacy-agent');
    expect(() => read({ defaultAgentId: 'no spaces' })).toThrow(/defaultAgentId/);
  });

  it('reads the image, size and port of the default profile from -c strings', () => {
    const config = read({
      sandboxImage: 'repo/agent:2',
      sandboxCpu: '2048',
      sandboxMemoryMiB: '4096',
      sandboxPort: '3000',
    });
    expect(config.exampleAgent).toBe(false);
    expect(config.profiles).toEqual([
      {
        name: 'default',
        image: 'repo/agent:2',
        cpu: 2048,
        memoryMiB: 4096,
        port: 3000,
        logging: 'cloudwatch',
      },
    ]);
  });

  it('gives the default profile a health check from -c sandboxHealthPath', () => {
    expect(
      read({ sandboxImage: 'repo/agent:2', sandboxHealthPath: '/health' }).profiles[0]?.healthCheck,
    ).toEqual({
      path: '/health',
    });
    expect(() => read({ sandboxHealthPath: 'health' })).toThrow(/sandboxHealthPath/);
  });

  it('takes a full list of profiles as JSON', () => {
    const profiles = [{ name: 'big', image: 'a', cpu: 4096, memoryMiB: 8192, port: 1 }];
    expect(read({ profiles: JSON.stringify(profiles) }).profiles).toEqual(profiles);
    expect(read({ profiles }).profiles).toEqual(profiles);
  });

  it('imports an existing VPC only with both its id and its subnets', () => {
    expect(
      read({ vpcId: 'vpc-1', subnetIds: 'subnet-a, subnet-b', assignPublicIp: 'false' }).existingVpc,
    ).toEqual({
      vpcId: 'vpc-1',
      subnetIds: ['subnet-a', 'subnet-b'],
      assignPublicIp: false,
    });
    expect(() => read({ vpcId: 'vpc-1' })).toThrow(/vpcId.*subnetIds/);
  });

  it('takes the route tables of an existing VPC for the DynamoDB gateway endpoint, only with that VPC', () => {
    expect(
      read({ vpcId: 'vpc-1', subnetIds: 'subnet-a', routeTableIds: 'rtb-a, rtb-b,' }).existingVpc,
    ).toEqual({
      vpcId: 'vpc-1',
      subnetIds: ['subnet-a'],
      assignPublicIp: true,
      routeTableIds: ['rtb-a', 'rtb-b'],
    });
    expect(() => read({ routeTableIds: 'rtb-a' })).toThrow(/routeTableIds.*vpcId/);
  });

  it('reads the owners’ storage quota in bytes, and leaves it unset by default', () => {
    expect(read({}).ownerStorageBytes).toBeUndefined();
    expect(read({ ownerStorageBytes: '5368709120' }).ownerStorageBytes).toBe(5 * 1024 ** 3);
  });

  it.each([
    [{ authMode: 'basic' }, /authMode/],
    [{ sandboxCpu: 'lots' }, /sandboxCpu/],
    [{ logRetentionDays: '2' }, /logRetentionDays/],
    [{ sandboxLogRetentionDays: '2' }, /sandboxLogRetentionDays/],
    [{ sandboxLogging: 'stdout' }, /sandboxLogging/],
    [{ dashboard: 'no' }, /dashboard/],
    [{ assignPublicIp: 'yes', vpcId: 'v', subnetIds: 's' }, /assignPublicIp/],
    [{ profiles: '[]' }, /profiles/],
    [{ apiTokenHashes: '[1]' }, /apiTokenHashes/],
    [{ ownerMaxLive: '0' }, /ownerMaxLive/],
    [{ tenantMaxLive: '2001' }, /tenantMaxLive.*2000/],
    [{ apiTokenHashes: '{' }, /apiTokenHashes/],
    [{ ownerStorageBytes: '0' }, /ownerStorageBytes/],
    [{ ownerStorageBytes: '1.5' }, /ownerStorageBytes/],
    [{ ownerStorageBytes: String(2 ** 53) }, /ownerStorageBytes/],
    [{ apiTokenHashes: '{"not-a-sha256":"tenant"}' }, /apiTokenHashes/],
  ])('rejects %o naming the bad key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
