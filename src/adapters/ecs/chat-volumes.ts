/**
 * A chat's storage on AWS: its EFS access point and its per-chat task definitions, created on the
 * chat's first sandbox, kept on the chat's `VOLUME` record and reused by every later session. A task
 * definition is registered again only when what it derives from changes (its fingerprint).
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  AccessPointAlreadyExists,
  AccessPointLimitExceeded,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  type EFSClient,
} from '@aws-sdk/client-efs';
import { LaunchError } from '../../core/errors.js';
import type { ChatKey } from '../../core/model.js';
import type { Clock, Logger } from '../../core/ports.js';
import { chatRootPath, chatTags, TAG_KEYS, taskFamily } from './naming.js';
import type { ChatVolume, ChatVolumeStore } from './ports.js';
import { launchErrorFrom } from './sdk-errors.js';
import type { EcsRuntimeSettings } from './settings.js';
import { definitionFingerprint, deriveTaskDefinition } from './task-definition.js';

const DAY_MS = 86_400_000;
/** Rounds of read-then-write before giving up on a chat whose record keeps changing. */
const MAX_ROUNDS = 3;
/** A new access point is usually `available` within a second; the launch waits this long at most. */
const ACCESS_POINT_POLLS = 10;
const ACCESS_POINT_POLL_MS = 300;
/** Permissions of a chat directory EFS creates on first mount. */
const CHAT_DIRECTORY_PERMISSIONS = '750';

export interface ChatVolumesDeps {
  readonly ecs: ECSClient;
  readonly efs: EFSClient;
  readonly store: ChatVolumeStore;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Finds or creates the resources a chat's sandbox needs to mount its storage. */
export class ChatVolumes {
  /** Base definitions by ARN: an ARN with a revision never changes, so one read per container. */
  private readonly baseDefinitions = new Map<string, Promise<TaskDefinition>>();

  constructor(private readonly deps: ChatVolumesDeps) {}

  /**
   * The ARN of the chat's task definition for `profileName`, creating the access point and
   * registering the definition if needed, and marking the volume used. `sessionId` makes access
   * point creation idempotent when a launch is re-issued.
   */
  async taskDefinitionFor(key: ChatKey, profileName: string, sessionId: string): Promise<string> {
    const { store, settings, clock } = this.deps;
    const profile = settings.profiles[profileName];
    if (!profile) throw new LaunchError(`profile '${profileName}' is not configured`, false);
    const fingerprint = definitionFingerprint(settings, profile);
    const retireAfterMs = settings.volumeRetireAfterDays * DAY_MS;

    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = clock.now();
      const current = await store.get(key);
      const active = current?.state === 'active' ? current : null;
      const existing = active?.taskDefinitions[profileName];
      if (active && existing?.fingerprint === fingerprint) {
        if (await store.touch(key, now, now + retireAfterMs)) return existing.arn;
        continue;
      }

      const accessPointId =
        active?.accessPointId ?? (await this.createAccessPoint(key, `${sessionId}.${round}`));
      const arn = await this.register(key, profileName, accessPointId);
      const written = await store.put(
        {
          ...key,
          fileSystemId: settings.fileSystemId,
          accessPointId,
          taskDefinitions: { ...active?.taskDefinitions, [profileName]: { arn, fingerprint } },
          lastUsedAt: now,
          retireAt: now + retireAfterMs,
        },
        current ? current.version : null,
      );
      if (written) {
        if (existing) await this.deregisterQuietly(existing.arn);
        return arn;
      }
      // Another launch of this chat wrote first: undo this round and use what it wrote.
      await this.deregisterQuietly(arn);
      if (!active) await this.deleteAccessPointQuietly(accessPointId);
    }
    throw new LaunchError(`the volume record of chat ${key.chatId} kept changing; retry later`, true);
  }

  private async createAccessPoint(key: ChatKey, clientToken: string): Promise<string> {
    const { efs, settings } = this.deps;
    const { uid, gid } = settings.chatOwner;
    let accessPointId: string | undefined;
    let state: string | undefined;
    try {
      const created = await efs.send(
        new CreateAccessPointCommand({
          ClientToken: clientToken,
          FileSystemId: settings.fileSystemId,
          PosixUser: { Uid: uid, Gid: gid },
          // CreationInfo makes EFS create the directory on first use; without it the mount fails (ENOENT).
          RootDirectory: {
            Path: chatRootPath(key),
            CreationInfo: { OwnerUid: uid, OwnerGid: gid, Permissions: CHAT_DIRECTORY_PERMISSIONS },
          },
          Tags: [
            { Key: 'Name', Value: `chat-${key.chatId}` },
            ...chatTags(key).map((tag) => ({ Key: tag.key, Value: tag.value })),
          ],
        }),
      );
      accessPointId = created.AccessPointId;
      state = created.LifeCycleState;
    } catch (error) {
      if (error instanceof AccessPointAlreadyExists && error.AccessPointId) {
        // The same token was used before: a re-issued launch of this session already created it.
        accessPointId = error.AccessPointId;
      } else if (error instanceof AccessPointLimitExceeded) {
        throw new LaunchError(
          `file system ${settings.fileSystemId} has reached its access point limit (10,000); ` +
            'lower the volume retirement age or add a file system',
          false,
          { cause: error },
        );
      } else {
        throw launchErrorFrom('CreateAccessPoint', error);
      }
    }
    if (!accessPointId) throw new LaunchError('CreateAccessPoint answered no access point id', true);
    if (state !== 'available') await this.waitUntilAvailable(accessPointId);
    return accessPointId;
  }

  /** Polls briefly: Fargate mounts much later than this, but a mount of a `creating` access point fails. */
  private async waitUntilAvailable(accessPointId: string): Promise<void> {
    const { efs, clock, logger } = this.deps;
    for (let poll = 0; poll < ACCESS_POINT_POLLS; poll += 1) {
      let state: string | undefined;
      try {
        const described = await efs.send(new DescribeAccessPointsCommand({ AccessPointId: accessPointId }));
        state = described.AccessPoints?.[0]?.LifeCycleState;
      } catch (error) {
        throw launchErrorFrom('DescribeAccessPoints', error);
      }
      if (state === 'available') return;
      if (state === 'error' || state === 'deleting' || state === 'deleted') {
        throw new LaunchError(`access point ${accessPointId} is ${state}`, false);
      }
      await clock.sleep(ACCESS_POINT_POLL_MS);
    }
    logger.warn('access point not yet available; launching anyway', { accessPointId });
  }

  private async register(key: ChatKey, profileName: string, accessPointId: string): Promise<string> {
    const { ecs, settings } = this.deps;
    const profile = settings.profiles[profileName]!;
    const base = await this.baseDefinition(profile.taskDefinitionArn);
    const input = deriveTaskDefinition({
      base,
      family: taskFamily(settings.taskFamilyPrefix, key),
      profile,
      accessPointId,
      settings,
      tags: [...chatTags(key), { key: TAG_KEYS.profile, value: profileName }],
    });
    try {
      const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
      const arn = registered.taskDefinition?.taskDefinitionArn;
      if (!arn) throw new LaunchError('RegisterTaskDefinition answered no task definition', true);
      return arn;
    } catch (error) {
      if (error instanceof LaunchError) throw error;
      // Throttling and concurrent revisions of the family come back retryable: the reconciler finishes.
      throw launchErrorFrom('RegisterTaskDefinition', error);
    }
  }

  private baseDefinition(arn: string): Promise<TaskDefinition> {
    let cached = this.baseDefinitions.get(arn);
    if (!cached) {
      cached = this.describeBase(arn);
      cached.catch(() => this.baseDefinitions.delete(arn));
      this.baseDefinitions.set(arn, cached);
    }
    return cached;
  }

  private async describeBase(arn: string): Promise<TaskDefinition> {
    let described: DescribeTaskDefinitionCommandOutput;
    try {
      described = await this.deps.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    } catch (error) {
      throw launchErrorFrom('DescribeTaskDefinition', error);
    }
    if (!described.taskDefinition) throw new LaunchError(`base task definition ${arn} not found`, false);
    return described.taskDefinition;
  }

  private async deregisterQuietly(arn: string): Promise<void> {
    try {
      await this.deps.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
    } catch (error) {
      this.deps.logger.warn('could not deregister a superseded task definition', { arn, error });
    }
  }

  private async deleteAccessPointQuietly(accessPointId: string): Promise<void> {
    try {
      await this.deps.efs.send(new DeleteAccessPointCommand({ AccessPointId: accessPointId }));
    } catch (error) {
      this.deps.logger.warn('could not delete an unused access point', { accessPointId, error });
    }
  }
}

/** Every resource a volume record holds, for retirement. */
export function volumeResources(volume: ChatVolume): { accessPointId: string; taskDefinitionArns: string[] } {
  return {
    accessPointId: volume.accessPointId,
    taskDefinitionArns: Object.values(volume.taskDefinitions).map((definition) => definition.arn),
  };
}
