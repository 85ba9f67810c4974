/**
 * Retires the access points and task definitions of chats unused for the configured number of days.
 * The chat's files stay on EFS; the next sandbox of the chat creates both again. Reads only the
 * volumes that are due (a sparse index), never the whole table.
 */
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { AccessPointNotFound, DeleteAccessPointCommand, type EFSClient } from '@aws-sdk/client-efs';
import { isTerminal } from '../../core/model.js';
import type { Clock, Logger, SessionStore } from '../../core/ports.js';
import { volumeResources } from './chat-volumes.js';
import type { ChatVolume, ChatVolumeStore } from './ports.js';
import { errorName } from './sdk-errors.js';
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
  readonly efs: EFSClient;
  readonly store: ChatVolumeStore;
  readonly sessions: SessionStore;
  readonly settings: EcsRuntimeSettings;
  readonly clock: Clock;
  readonly logger: Logger;
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
    const { store, sessions, settings, clock, logger } = this.deps;
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

    const { accessPointId, taskDefinitionArns } = volumeResources(claimed);
    await this.deleteTaskDefinitions(taskDefinitionArns);
    await this.deleteAccessPoint(accessPointId);
    // Fails if a launch re-created the volume meanwhile: its new record stays.
    await store.remove(key, claimed.version);
    logger.info('chat volume retired', { ...key, accessPointId, taskDefinitions: taskDefinitionArns.length });
    return 'retired';
  }

  private async deleteTaskDefinitions(arns: readonly string[]): Promise<void> {
    const { ecs, logger } = this.deps;
    if (arns.length === 0) return;
    for (const arn of arns) {
      try {
        await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }));
      } catch (error) {
        // Already inactive or deleted (a pass that stopped half-way): nothing left to deregister.
        const name = errorName(error);
        if (name !== 'ClientException' && name !== 'InvalidParameterException') throw error;
      }
    }
    for (let start = 0; start < arns.length; start += DELETE_BATCH) {
      const batch = arns.slice(start, start + DELETE_BATCH);
      const deleted = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: batch }));
      for (const failure of deleted.failures ?? []) {
        logger.warn('task definition not deleted', { arn: failure.arn, reason: failure.reason });
      }
    }
  }

  private async deleteAccessPoint(accessPointId: string): Promise<void> {
    try {
      await this.deps.efs.send(new DeleteAccessPointCommand({ AccessPointId: accessPointId }));
    } catch (error) {
      if (!(error instanceof AccessPointNotFound)) throw error;
    }
  }
}
