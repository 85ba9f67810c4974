/**
 * Retires the access points and task definitions of chats unused for the configured number of days.
 * The chat's files stay on EFS; the next sandbox of the chat creates both again. Reads only the
 * volumes that are due (a sparse index), never the whole table. A volume's record is removed only
 * once every one of its resources is gone, so a retirement that fails half-way is finished later.
 */
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { type ChatKey, isTerminal } from '../../core/model.js';
import type { Clock, Logger, SessionStore } from '../../core/ports.js';
import type { AccessPoints, ChatVolume, ChatVolumeStore } from '../../core/volume-ports.js';
import { errorName } from '../sdk-errors.js';
import { type ChatVolumes, volumeResources } from './chat-volumes.js';
import type { EcsRuntimeSettings } from './settings.js';

const DAY_MS = 86_400_000;
/** A retirement that fails half-way is due again after this long. */
const RETRY_AFTER_MS = 10 * 60 * 1000;
/** DeleteTaskDefinitions takes at most 10 definitions a call. */
const DELETE_BATCH = 10;

export interface RetireSummary {
  examined: number;
  retired: number;
  /** Due, but the chat has a session that is not terminal: its retirement is pushed out. */
  rearmed: number;
  errors: number;
  truncated: boolean;
}

export interface VolumeRetirerDeps {
  readonly ecs: ECSClient;
  readonly accessPoints: AccessPoints;
  readonly volumes: Pick<ChatVolumes, 'revisions'>;
  readonly store: ChatVolumeStore;
  readonly sessions: Pick<SessionStore, 'get'>;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A definition that is already INACTIVE or gone: nothing is left to deregister. */
function alreadyGone(error: unknown): boolean {
  const name = errorName(error);
  return name === 'ClientException' || name === 'InvalidParameterException';
}

export class VolumeRetirer {
  constructor(private readonly deps: VolumeRetirerDeps) {}

  /** Retires every due volume until `deadline` (epoch ms); the rest waits for the next pass. */
  async retireDue(options: { readonly deadline?: number } = {}): Promise<RetireSummary> {
    const { store, clock, logger } = this.deps;
    const summary: RetireSummary = { examined: 0, retired: 0, rearmed: 0, errors: 0, truncated: false };
    for await (const volume of store.listDue(clock.now())) {
      if (options.deadline !== undefined && clock.now() >= options.deadline) {
        summary.truncated = true;
        break;
      }
      summary.examined += 1;
      try {
        const outcome = await this.retire(volume);
        if (outcome) summary[outcome] += 1;
      } catch (error) {
        summary.errors += 1;
        logger.error('volume retirement failed; it is retried later', {
          tenant: volume.tenant,
          chatId: volume.chatId,
          error,
        });
      }
    }
    return summary;
  }

  private async retire(volume: ChatVolume): Promise<'retired' | 'rearmed' | null> {
    const { store, sessions, settings, clock } = this.deps;
    const key = { tenant: volume.tenant, chatId: volume.chatId };
    const now = clock.now();
    // A sandbox that is live or still stopping may have the access point mounted: keep it.
    const session = await sessions.get(key);
    if (session && !isTerminal(session)) {
      const touched = await store.touch(key, now, now + settings.volumeRetireAfterDays * DAY_MS);
      return touched ? 'rearmed' : null;
    }
    const claimed = await store.markRetiring(key, volume.version, now, now + RETRY_AFTER_MS);
    if (!claimed) return null;
    await this.release(claimed);
    return 'retired';
  }

  /**
   * Retires the chat's volume now, due or not, for a purge (the caller has made sure no sandbox of
   * the chat is live, and the chat refuses new ones): its access point and every task definition of
   * its family, recorded or not. Throws, to be tried again, when a resource is left.
   */
  async retireChat(key: ChatKey): Promise<void> {
    const { store, clock, volumes } = this.deps;
    const volume = await store.get(key);
    if (!volume) {
      // No record, but a launch that died may have registered a revision and never recorded it.
      await this.deleteTaskDefinitions((await volumes.revisions(key)).map((revision) => revision.arn));
      return;
    }
    const now = clock.now();
    const claimed = await store.markRetiring(key, volume.version, now, now + RETRY_AFTER_MS, {
      mustBeDue: false,
    });
    if (!claimed)
      throw new Error('the chat volume changed while the purge read it; the next pass tries again');
    await this.release(claimed);
  }

  /** Deletes a claimed volume's task definitions and access point, then its record. */
  private async release(claimed: ChatVolume): Promise<void> {
    const { store, logger, accessPoints, volumes } = this.deps;
    const key = { tenant: claimed.tenant, chatId: claimed.chatId };
    const { accessPointId, taskDefinitionArns } = volumeResources(claimed);
    // The recorded revisions, and any of the chat's family a launch registered and never recorded.
    const listed = (await volumes.revisions(key)).map((revision) => revision.arn);
    const arns = [...new Set([...taskDefinitionArns, ...listed])];
    await this.deleteTaskDefinitions(arns);
    await accessPoints.delete(accessPointId);
    // Fails if a launch re-created the volume meanwhile: its new record stays.
    await store.remove(key, claimed.version);
    logger.info('chat volume retired', { ...key, accessPointId, taskDefinitions: arns.length });
  }

  /** Deregisters and deletes every definition; throws, keeping the record, if one is left. */
  private async deleteTaskDefinitions(arns: readonly string[]): Promise<void> {
    const { ecs } = this.deps;
    if (arns.length === 0) return;
    for (const arn of arns) {
      try {
        await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
      } catch (error) {
        if (!alreadyGone(error)) throw error;
      }
    }
    const left: string[] = [];
    for (let start = 0; start < arns.length; start += DELETE_BATCH) {
      const batch = arns.slice(start, start + DELETE_BATCH);
      const deleted = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch }));
      for (const failure of deleted.failures ?? []) {
        if (failure.arn && !(await this.isDeleted(failure.arn)))
          left.push(`${failure.arn}: ${failure.reason}`);
      }
    }
    if (left.length > 0) throw new Error(`task definitions not deleted: ${left.join('; ')}`);
  }

  /**
   * Whether a definition a delete reported as failed is on its way out all the same: already
   * `DELETE_IN_PROGRESS` (a pass that stopped half-way submitted it), or unknown to ECS.
   */
  private async isDeleted(arn: string): Promise<boolean> {
    try {
      const { taskDefinition } = await this.deps.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
      );
      return !taskDefinition || taskDefinition.status === 'DELETE_IN_PROGRESS';
    } catch (error) {
      if (alreadyGone(error)) return true;
      throw error;
    }
  }
}
