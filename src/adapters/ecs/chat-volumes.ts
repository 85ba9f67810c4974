/**
 * A chat's storage on AWS: its EFS access point and its per-chat task definitions, created on the
 * chat's first sandbox, kept on the chat's `VOLUME` record and reused by every later session. A task
 * definition is registered again only when what it derives from changes (its fingerprint).
 *
 * Registration is idempotent per chat and profile: every revision carries its profile, fingerprint
 * and access point as tags, so a launch that finds a matching revision nobody recorded (an earlier
 * launch registered it and died before writing the record) uses it instead of registering another,
 * and once a revision is recorded, the profile's other revisions in the chat's family are
 * deregistered.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  type ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { LaunchError } from '../../core/errors.js';
import type { ChatKey } from '../../core/model.js';
import type { Clock, Logger } from '../../core/ports.js';
import type { AccessPoints, ChatVolume, ChatVolumeStore } from '../../core/volume-ports.js';
import { chatTags, TAG_KEYS, taskFamily } from '../aws-naming.js';
import { errorName, launchErrorFrom } from '../sdk-errors.js';
import type { EcsRuntimeSettings } from './settings.js';
import { definitionFingerprint, deriveTaskDefinition } from './task-definition.js';

const DAY_MS = 86_400_000;
/** Rounds of read-then-write before giving up on a chat whose record keeps changing. */
const MAX_ROUNDS = 3;

export interface ChatVolumesDeps {
  readonly ecs: ECSClient;
  readonly accessPoints: AccessPoints;
  readonly store: ChatVolumeStore;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A revision of a chat's family, as its tags describe it. */
interface Revision {
  readonly arn: string;
  readonly profile: string | undefined;
  readonly fingerprint: string | undefined;
  readonly accessPointId: string | undefined;
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
    const { store, settings, clock, accessPoints } = this.deps;
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
        active?.accessPointId ?? (await accessPoints.create(key, `${sessionId}.${round}`));
      const revisions = await this.revisions(key);
      const unrecorded = revisions.find(
        (revision) =>
          revision.profile === profileName &&
          revision.fingerprint === fingerprint &&
          revision.accessPointId === accessPointId,
      );
      const arn = unrecorded?.arn ?? (await this.register(key, profileName, accessPointId, fingerprint));
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
        // Superseded revisions of this profile, and ones a launch that died left unrecorded.
        for (const revision of revisions) {
          if (revision.profile === profileName && revision.arn !== arn)
            await this.deregisterQuietly(revision.arn);
        }
        return arn;
      }
      // Another launch of this chat wrote first: undo this round and use what it wrote.
      if (!unrecorded) await this.deregisterQuietly(arn);
      if (!active) await this.deleteAccessPointQuietly(accessPointId);
    }
    throw new LaunchError(`the volume record of chat ${key.chatId} kept changing; retry later`, true);
  }

  /** The ACTIVE revisions of the chat's family, with the tags this module puts on them. */
  async revisions(key: ChatKey): Promise<Revision[]> {
    const { ecs, settings } = this.deps;
    const family = taskFamily(settings.taskFamilyPrefix, key);
    const arns: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await ecs.send(
          new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', nextToken }),
        );
        // The prefix also matches longer family names: keep this family's own revisions.
        arns.push(...(page.taskDefinitionArns ?? []).filter((arn) => familyOf(arn) === family));
        nextToken = page.nextToken;
      } while (nextToken);
      const revisions: Revision[] = [];
      for (const arn of arns) {
        const described = await ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
        );
        const tag = (name: string) => described.tags?.find((candidate) => candidate.key === name)?.value;
        revisions.push({
          arn,
          profile: tag(TAG_KEYS.profile),
          fingerprint: tag(TAG_KEYS.fingerprint),
          accessPointId: tag(TAG_KEYS.accessPointId),
        });
      }
      return revisions;
    } catch (error) {
      throw launchErrorFrom('ListTaskDefinitions', error);
    }
  }

  private async register(
    key: ChatKey,
    profileName: string,
    accessPointId: string,
    fingerprint: string,
  ): Promise<string> {
    const { ecs, settings } = this.deps;
    const profile = settings.profiles[profileName]!;
    const base = await this.baseDefinition(profile.taskDefinitionArn);
    const input = deriveTaskDefinition({
      base,
      family: taskFamily(settings.taskFamilyPrefix, key),
      profile,
      accessPointId,
      settings,
      tags: [
        ...chatTags(key),
        { key: TAG_KEYS.profile, value: profileName },
        { key: TAG_KEYS.fingerprint, value: fingerprint },
        { key: TAG_KEYS.accessPointId, value: accessPointId },
      ],
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
      this.deps.logger.warn('could not deregister a superseded task definition', {
        arn,
        error: errorName(error),
      });
    }
  }

  private async deleteAccessPointQuietly(accessPointId: string): Promise<void> {
    try {
      await this.deps.accessPoints.delete(accessPointId);
    } catch (error) {
      this.deps.logger.warn('could not delete an unused access point', {
        accessPointId,
        error: errorName(error),
      });
    }
  }
}

/** The family of a task definition ARN (`...:task-definition/<family>:<revision>`). */
export function familyOf(arn: string): string | null {
  return /:task-definition\/([^:]+):\d+$/.exec(arn)?.[1] ?? null;
}

/** Every resource a volume record holds, for retirement. */
export function volumeResources(volume: ChatVolume): { accessPointId: string; taskDefinitionArns: string[] } {
  return {
    accessPointId: volume.accessPointId,
    taskDefinitionArns: Object.values(volume.taskDefinitions).map((definition) => definition.arn),
  };
}
