/**
 * What the ECS runtime needs from storage besides the session store: the chat's volume record (its
 * EFS access point and per-chat task definitions) and the directory that turns a tenant hash back
 * into the tenant. Implemented over the session table by src/adapters/dynamodb/volume-store.ts.
 */
import type { ChatKey } from '../../core/model.js';

/** A per-chat task definition registered for one profile. */
export interface ChatTaskDefinition {
  readonly arn: string;
  /** Digest of everything the definition was derived from; a different digest means re-register. */
  readonly fingerprint: string;
}

/** The `VOLUME` item of a chat. */
export interface ChatVolume extends ChatKey {
  readonly fileSystemId: string;
  readonly accessPointId: string;
  /** Profile name -> the chat's task definition for that profile. */
  readonly taskDefinitions: Readonly<Record<string, ChatTaskDefinition>>;
  readonly lastUsedAt: number;
  /** When the reconciler may retire the volume (access point and task definitions, never the data). */
  readonly retireAt: number;
  /** `retiring`: a reconciler pass is deleting its resources; launches treat it as absent. */
  readonly state: 'active' | 'retiring';
  /** Incremented by every write; the optimistic-concurrency check. */
  readonly version: number;
}

export type NewChatVolume = Omit<ChatVolume, 'version' | 'state'>;

/** The chat volume records. Every write is conditional; a lost condition answers null or false. */
export interface ChatVolumeStore {
  get(key: ChatKey): Promise<ChatVolume | null>;
  /**
   * Writes an active volume if the chat has none (`expectedVersion` null) or its record is still at
   * `expectedVersion`. Answers the record written, or null when another writer got there first.
   */
  put(volume: NewChatVolume, expectedVersion: number | null): Promise<ChatVolume | null>;
  /** Marks an active volume used at `now`; null when it is absent or retiring. */
  touch(key: ChatKey, now: number, retireAt: number): Promise<ChatVolume | null>;
  /** Volumes whose `retireAt` is at or before `dueBy` (a sparse index read, never a scan). */
  listDue(dueBy: number): AsyncIterable<ChatVolume>;
  /**
   * Claims a volume for retirement if it is still at `expectedVersion` and due; it stays in the index
   * until `retryAt`, so a pass that dies half-way is picked up again.
   */
  markRetiring(
    key: ChatKey,
    expectedVersion: number,
    now: number,
    retryAt: number,
  ): Promise<ChatVolume | null>;
  /** Deletes the record if it is still at `expectedVersion`. */
  remove(key: ChatKey, expectedVersion: number): Promise<boolean>;
}

/**
 * Tenant ids are too long and too free-form for ECS's `startedBy` and resource names, which carry a
 * 16-hex hash instead. This directory maps the hash back to the tenant.
 */
export interface TenantDirectory {
  /** Records `hash -> tenant`; throws if the hash already belongs to another tenant. */
  remember(hash: string, tenant: string): Promise<void>;
  lookup(hash: string): Promise<string | null>;
}

/** Two tenants share a tenant hash (a 1 in 2^64 chance per pair): the second cannot launch. */
export class TenantHashCollisionError extends Error {
  constructor(readonly hash: string) {
    super(`tenant hash ${hash} already belongs to another tenant`);
    this.name = 'TenantHashCollisionError';
  }
}
