import { describe, expect, it } from 'vitest';
import { definitionFingerprint, deriveTaskDefinition } from '../../src/adapters/ecs/task-definition.js';
import { LaunchError } from '../../src/core/errors.js';
import {
  baseTaskDefinition,
  CHAT_ACCESS_POINT_ID,
  DEPENDENCIES_ACCESS_POINT_ID,
  SETTINGS,
} from './fixtures.js';

const profile = SETTINGS.profiles.default!;
const base = baseTaskDefinition().taskDefinition!;

function derive(overrides: Partial<Parameters<typeof deriveTaskDefinition>[0]> = {}) {
  return deriveTaskDefinition({
    base,
    family: 'sbx-chat-0123456789abcdef-11111111-1111-4111-8111-111111111111',
    profile,
    accessPointId: CHAT_ACCESS_POINT_ID,
    settings: SETTINGS,
    tags: [{ key: 'sandbox:chat-id', value: '11111111-1111-4111-8111-111111111111' }],
    ...overrides,
  });
}

describe('deriveTaskDefinition', () => {
  it("keeps the base definition's image, sizes, roles, logging and shared mounts", () => {
    const derived = derive();
    const container = derived.containerDefinitions![0]!;
    expect(container.image).toBe(base.containerDefinitions![0]!.image);
    expect(container.logConfiguration).toEqual(base.containerDefinitions![0]!.logConfiguration);
    expect(container.portMappings).toEqual([{ containerPort: 8000, hostPort: 8000, protocol: 'tcp' }]);
    expect(derived).toMatchObject({
      cpu: '1024',
      memory: '2048',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      executionRoleArn: base.executionRoleArn,
      runtimePlatform: base.runtimePlatform,
    });
    expect(derived.taskRoleArn).toBeUndefined();
    // Read-only fields of a described definition never reach RegisterTaskDefinition.
    expect(derived).not.toHaveProperty('revision');
    expect(derived).not.toHaveProperty('status');
    expect(derived).not.toHaveProperty('requiresAttributes');
  });

  it("keeps the base container's health check, so a chat's sandboxes are checked as the profile says", () => {
    const healthCheck = {
      command: ['CMD-SHELL', "curl -fsS -o /dev/null 'http://127.0.0.1:8000/health' || exit 1"],
      interval: 10,
      timeout: 5,
      retries: 3,
    };
    const checked = { ...base, containerDefinitions: [{ ...base.containerDefinitions![0]!, healthCheck }] };
    expect(derive({ base: checked }).containerDefinitions![0]!.healthCheck).toEqual(healthCheck);
    expect(derive().containerDefinitions![0]!.healthCheck).toBeUndefined();
  });

  it("mounts the chat's access point read-write over TLS and keeps the shared mounts read-only", () => {
    const derived = derive();
    expect(derived.volumes?.map((volume) => volume.name)).toEqual(['dependencies', 'tools', 'chat']);
    expect(derived.volumes?.[2]?.efsVolumeConfiguration).toEqual({
      fileSystemId: SETTINGS.fileSystemId,
      rootDirectory: '/',
      transitEncryption: 'ENABLED',
      authorizationConfig: { accessPointId: CHAT_ACCESS_POINT_ID, iam: 'DISABLED' },
    });
    expect(derived.containerDefinitions![0]!.mountPoints).toEqual([
      { sourceVolume: 'dependencies', containerPath: '/opt/dependencies', readOnly: true },
      { sourceVolume: 'tools', containerPath: '/opt/lambda-tools', readOnly: true },
      { sourceVolume: 'chat', containerPath: '/workspace/chat', readOnly: false },
    ]);
  });

  it('adds the shared dependencies and tools read-only when the base does not mount them', () => {
    const bare = {
      ...base,
      volumes: [],
      containerDefinitions: [{ ...base.containerDefinitions![0]!, mountPoints: [] }],
    };
    const derived = derive({ base: bare });
    expect(derived.volumes?.map((volume) => volume.name)).toEqual([
      'sandbox-dependencies',
      'sandbox-tools',
      'chat',
    ]);
    expect(derived.volumes?.[0]?.efsVolumeConfiguration?.authorizationConfig?.accessPointId).toBe(
      DEPENDENCIES_ACCESS_POINT_ID,
    );
    expect(derived.containerDefinitions![0]!.mountPoints).toEqual([
      { sourceVolume: 'sandbox-dependencies', containerPath: '/opt/dependencies', readOnly: true },
      { sourceVolume: 'sandbox-tools', containerPath: '/opt/lambda-tools', readOnly: true },
      { sourceVolume: 'chat', containerPath: '/workspace/chat', readOnly: false },
    ]);
  });

  it("fails for good when the base lacks the profile's container", () => {
    expect(() => derive({ profile: { ...profile, containerName: 'agent' } })).toThrow(LaunchError);
  });
});

describe('definitionFingerprint', () => {
  it('changes with the base definition revision and stays put otherwise', () => {
    const same = definitionFingerprint(SETTINGS, profile);
    expect(definitionFingerprint(SETTINGS, { ...profile })).toBe(same);
    const next = { ...profile, taskDefinitionArn: profile.taskDefinitionArn.replace(/:7$/, ':8') };
    expect(definitionFingerprint(SETTINGS, next)).not.toBe(same);
  });
});
