import { afterEach, describe, expect, it, vi } from 'vitest';
import { tenantOfPrincipal } from '../../src/aws/api-gateway.js';
import { authSection, clusterSection, ecsSection, tableSection } from '../../src/config/aws.js';
import { ConfigError, parseSections } from '../../src/config/env.js';
import { lifecycleSection, profileNames, withProfiles } from '../../src/config/lifecycle.js';
import { ENV } from '../../src/names.js';
import { BASE_TASK_DEFINITION_ARN, SETTINGS } from '../ecs/fixtures.js';
import { coldStart, functionEnv } from './harness.js';

const env = () => functionEnv('sessions-test');
const apiSections = () => ({
  table: tableSection,
  ecs: ecsSection,
  auth: authSection,
  lifecycle: lifecycleSection(),
});

function problemOf(changes: Record<string, string | undefined>): string {
  const changed: NodeJS.ProcessEnv = { ...env(), ...changes };
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete changed[name];
  try {
    parseSections(changed, apiSections());
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("the api function's configuration", () => {
  it('reads the stack-provided environment and fills the defaults', () => {
    const config = parseSections(env(), apiSections());
    expect(config.ecs).toEqual({ ...SETTINGS, volumeRetireAfterDays: 30 });
    expect(withProfiles(config.lifecycle, profileNames(config.ecs.profiles))).toMatchObject({
      profiles: ['default'],
      defaultProfile: 'default',
      defaultIdleTimeoutSeconds: 900,
      launchLeaseSeconds: 180,
      strangerGraceSeconds: 180,
    });
    expect(config.auth.mode).toBe('iam');
    expect(config.ecs.profiles.default?.taskDefinitionArn).toBe(BASE_TASK_DEFINITION_ARN);
  });

  it.each([
    [{ [ENV.clusterArn]: undefined }, `${ENV.clusterArn}: is required`],
    [{ [ENV.tableName]: '' }, `${ENV.tableName}: must not be empty`],
    [{ [ENV.subnetIds]: 'subnet-0a1b,vpc-123' }, ENV.subnetIds],
    [{ [ENV.profiles]: '{"default": ' }, `${ENV.profiles}: must be JSON`],
    [
      { [ENV.profiles]: '{"default": {"taskDefinitionArn": "x", "containerName": "c", "port": 8000}}' },
      ENV.profiles,
    ],
    [{ [ENV.assignPublicIp]: 'yes' }, ENV.assignPublicIp],
    [{ [ENV.volumeRetireAfterDays]: '1' }, `${ENV.volumeRetireAfterDays}: must be at least 2`],
    [{ [ENV.defaultIdleTimeoutSeconds]: 'soon' }, ENV.defaultIdleTimeoutSeconds],
    [{ [ENV.authMode]: 'token' }, `${ENV.apiTokens}: is required when ${ENV.authMode} is token`],
    [{ [ENV.apiTokens]: '{"abc": "acme"}' }, ENV.apiTokens],
    [
      { [ENV.defaultIdleTimeoutSeconds]: '30' },
      `${ENV.defaultIdleTimeoutSeconds}: must be at least ${ENV.minIdleTimeoutSeconds} (60)`,
    ],
    [
      { [ENV.defaultIdleTimeoutSeconds]: '3600', [ENV.defaultMaxLifetimeSeconds]: '1800' },
      `${ENV.defaultMaxLifetimeSeconds}: must be at least ${ENV.defaultIdleTimeoutSeconds} (3600)`,
    ],
    [
      { [ENV.defaultMaxLifetimeSeconds]: '100000' },
      `${ENV.defaultMaxLifetimeSeconds}: must be at most 86400`,
    ],
    [
      { [ENV.launchLeaseSeconds]: '600', [ENV.provisioningTimeoutSeconds]: '300' },
      `${ENV.provisioningTimeoutSeconds}: must be at least ${ENV.launchLeaseSeconds} (600)`,
    ],
  ])('names the variable when it is missing, malformed or inconsistent (%o)', (changes, expected) => {
    expect(problemOf(changes)).toContain(expected);
  });

  it('reports every bad variable at once', () => {
    const message = problemOf({ [ENV.clusterArn]: undefined, [ENV.fileSystemId]: 'nope' });
    expect(message).toContain(ENV.clusterArn);
    expect(message).toContain(ENV.fileSystemId);
  });

  it('lets task-events start without the profiles or the network', () => {
    const minimal = {
      [ENV.tableName]: 'sessions',
      [ENV.clusterArn]: SETTINGS.clusterArn,
    };
    const config = parseSections(minimal, {
      table: tableSection,
      cluster: clusterSection,
      lifecycle: lifecycleSection(),
    });
    expect(config.cluster.clusterArn).toBe(SETTINGS.clusterArn);
  });

  it('fails the cold start of a function, naming the variable', async () => {
    const broken = env();
    delete broken[ENV.fileSystemId];
    coldStart(broken);
    await expect(import('../../functions/reconciler.js')).rejects.toThrow(`${ENV.fileSystemId}: is required`);
  });
});

describe('tenantOfPrincipal', () => {
  it('keeps a user ARN and maps a role session to its role', () => {
    expect(tenantOfPrincipal('arn:aws:iam::111122223333:user/alice')).toBe(
      'arn:aws:iam::111122223333:user/alice',
    );
    expect(tenantOfPrincipal('arn:aws:sts::111122223333:assumed-role/agent-runtime/i-0abc')).toBe(
      'arn:aws:iam::111122223333:role/agent-runtime',
    );
    expect(tenantOfPrincipal('arn:aws-cn:sts::111122223333:assumed-role/r/s')).toBe(
      'arn:aws-cn:iam::111122223333:role/r',
    );
  });

  it('refuses a principal that does not fit the tenant alphabet', () => {
    expect(tenantOfPrincipal('arn:aws:iam::111122223333:user/a#b')).toBeNull();
  });
});
