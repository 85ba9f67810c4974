import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_IMAGE, readAppConfig } from '../../infra/bin/app-config.js';

const read = (context: Record<string, unknown>) => readAppConfig((key) => context[key]);

describe('app context', () => {
  it('defaults to one placeholder profile, a new VPC, IAM auth and a month of logs', () => {
    const config = read({});
    expect(config).toMatchObject({
      stackPrefix: 'AgentSandbox',
      placeholderImage: true,
      existingVpc: undefined,
      authMode: 'iam',
      sandboxEgress: 'all',
      logRetention: RetentionDays.ONE_MONTH,
      automaticBackups: true,
      limits: { tenantMaxLive: undefined, ownerMaxLive: undefined },
    });
    expect(config.profiles).toEqual([
      { name: 'default', image: PLACEHOLDER_IMAGE, cpu: 1024, memoryMiB: 2048, port: 8080 },
    ]);
  });

  it('reads the image, size and port of the default profile from -c strings', () => {
    const config = read({
      sandboxImage: 'repo/agent:2',
      sandboxCpu: '2048',
      sandboxMemoryMiB: '4096',
      sandboxPort: '3000',
    });
    expect(config.placeholderImage).toBe(false);
    expect(config.profiles).toEqual([
      { name: 'default', image: 'repo/agent:2', cpu: 2048, memoryMiB: 4096, port: 3000 },
    ]);
  });

  it('gives the default profile a health check from -c sandboxHealthPath', () => {
    expect(read({ sandboxHealthPath: '/health' }).profiles[0]?.healthCheck).toEqual({ path: '/health' });
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

  it.each([
    [{ authMode: 'basic' }, /authMode/],
    [{ sandboxCpu: 'lots' }, /sandboxCpu/],
    [{ logRetentionDays: '2' }, /logRetentionDays/],
    [{ assignPublicIp: 'yes', vpcId: 'v', subnetIds: 's' }, /assignPublicIp/],
    [{ profiles: '[]' }, /profiles/],
    [{ apiTokenHashes: '[1]' }, /apiTokenHashes/],
    [{ ownerMaxLive: '0' }, /ownerMaxLive/],
    [{ tenantMaxLive: '2001' }, /tenantMaxLive.*2000/],
    [{ apiTokenHashes: '{' }, /apiTokenHashes/],
    [{ apiTokenHashes: '{"not-a-sha256":"tenant"}' }, /apiTokenHashes/],
  ])('rejects %o naming the bad key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
