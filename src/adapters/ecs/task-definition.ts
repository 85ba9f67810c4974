/**
 * Derives a chat's task definition from its profile's base definition: the same image, CPU, memory,
 * roles, logging and ports, the shared dependencies and tools mounted read-only, and the chat's own
 * access point mounted read-write, all over TLS (RunTask cannot override volumes, hence one
 * definition per chat).
 */
import { createHash } from 'node:crypto';
import type {
  ContainerDefinition,
  RegisterTaskDefinitionCommandInput,
  TaskDefinition,
  Volume,
} from '@aws-sdk/client-ecs';
import { LaunchError } from '../../core/errors.js';
import type { Tag } from '../aws-naming.js';
import type { EcsProfile, EcsRuntimeSettings } from './settings.js';

/** Bump when the derivation changes, so every chat's definition is registered again on next use. */
const DERIVATION_VERSION = 1;

/** Names of the volumes the derivation adds. */
export const VOLUME_NAMES = {
  chat: 'chat',
  dependencies: 'sandbox-dependencies',
  tools: 'sandbox-tools',
} as const;

/**
 * Digest of everything a chat's definition is derived from, except the chat's own access point. A
 * stored definition with another digest is stale (new base revision, other mounts) and is replaced.
 */
export function definitionFingerprint(settings: EcsRuntimeSettings, profile: EcsProfile): string {
  const inputs = {
    version: DERIVATION_VERSION,
    base: profile.taskDefinitionArn,
    container: profile.containerName,
    fileSystemId: settings.fileSystemId,
    dependencies: settings.dependenciesAccessPointId,
    tools: settings.toolsAccessPointId,
    mountPaths: settings.mountPaths,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

export interface DerivationInput {
  readonly base: TaskDefinition;
  readonly family: string;
  readonly profile: EcsProfile;
  readonly accessPointId: string;
  readonly settings: EcsRuntimeSettings;
  readonly tags: readonly Tag[];
}

function efsVolume(name: string, fileSystemId: string, accessPointId: string): Volume {
  return {
    name,
    efsVolumeConfiguration: {
      fileSystemId,
      rootDirectory: '/',
      transitEncryption: 'ENABLED',
      // No IAM authorization: sandboxes have no task role by default; the file system policy admits
      // TLS mounts through access points only.
      authorizationConfig: { accessPointId, iam: 'DISABLED' },
    },
  };
}

/** The RegisterTaskDefinition input of a chat's definition. Throws if the base lacks the profile's container. */
export function deriveTaskDefinition(input: DerivationInput): RegisterTaskDefinitionCommandInput {
  const { base, profile, settings, accessPointId } = input;
  const containers = base.containerDefinitions ?? [];
  if (!containers.some((container) => container.name === profile.containerName)) {
    throw new LaunchError(
      `base task definition ${profile.taskDefinitionArn} has no container '${profile.containerName}'`,
      false,
    );
  }
  const baseVolumes = (base.volumes ?? []).filter((volume) => volume.name !== VOLUME_NAMES.chat);
  const mountsAccessPoint = (id: string) =>
    baseVolumes.some((volume) => volume.efsVolumeConfiguration?.authorizationConfig?.accessPointId === id);

  // The shared directories: kept as the base mounts them, added read-only where it does not.
  const volumes: Volume[] = [...baseVolumes];
  const sharedMounts: { sourceVolume: string; containerPath: string; readOnly: boolean }[] = [];
  const shared = [
    [VOLUME_NAMES.dependencies, settings.dependenciesAccessPointId, settings.mountPaths.dependencies],
    [VOLUME_NAMES.tools, settings.toolsAccessPointId, settings.mountPaths.tools],
  ] as const;
  for (const [name, id, path] of shared) {
    if (mountsAccessPoint(id)) continue;
    volumes.push(efsVolume(name, settings.fileSystemId, id));
    sharedMounts.push({ sourceVolume: name, containerPath: path, readOnly: true });
  }
  volumes.push(efsVolume(VOLUME_NAMES.chat, settings.fileSystemId, accessPointId));

  const containerDefinitions = containers.map((container): ContainerDefinition => {
    if (container.name !== profile.containerName) return container;
    const kept = (container.mountPoints ?? []).filter(
      (mount) => mount.sourceVolume !== VOLUME_NAMES.chat && mount.containerPath !== settings.mountPaths.chat,
    );
    return {
      ...container,
      mountPoints: [
        ...kept,
        ...sharedMounts,
        { sourceVolume: VOLUME_NAMES.chat, containerPath: settings.mountPaths.chat, readOnly: false },
      ],
    };
  });

  return {
    family: input.family,
    taskRoleArn: base.taskRoleArn,
    executionRoleArn: base.executionRoleArn,
    networkMode: base.networkMode,
    containerDefinitions,
    volumes,
    placementConstraints: base.placementConstraints,
    requiresCompatibilities: base.requiresCompatibilities,
    cpu: base.cpu,
    memory: base.memory,
    pidMode: base.pidMode,
    ipcMode: base.ipcMode,
    proxyConfiguration: base.proxyConfiguration,
    ephemeralStorage: base.ephemeralStorage,
    runtimePlatform: base.runtimePlatform,
    tags: input.tags.map((tag) => ({ key: tag.key, value: tag.value })),
  };
}
