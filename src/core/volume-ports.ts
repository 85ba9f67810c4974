/**
 * Ports of a chat's storage on a runtime that needs per-chat resources to mount it (ECS Fargate with
 * EFS): the chat's volume record, the access points, and the directory that turns a tenant hash back
 * into the tenant. The DynamoDB adapter implements the stores, the EFS adapter the access points;
 * the ECS adapter uses all three.
 */
import type { ChatKey } from './model.js';

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
   * Claims a volume for retirement if it is still at `expectedVersion` and due (`retireAt <= now`;
   * `mustBeDue: false` drops that part, for a chat being purged); it stays in the index until
   * `retryAt`, so a pass that dies half-way is picked up again.
   */
  markRetiring(
    key: ChatKey,
    expectedVersion: number,
    now: number,
    retryAt: number,
    options?: { readonly mustBeDue?: boolean },
  ): Promise<ChatVolume | null>;
  /** Deletes the record if it is still at `expectedVersion`. */
  remove(key: ChatKey, expectedVersion: number): Promise<boolean>;
}

/**
 * Tenant ids are too long and too free-form for ECS's `startedBy` and resource names, which carry a
 * 16-hex hash instead. This directory maps the hash back to the tenant.
 */
export interface TenantDirectory {
  /** Records `hash -> tenant`; throws `TenantHashCollisionError` if the hash belongs to another tenant. */
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

/** The file system's per-chat entry points (EFS access points). */
export interface AccessPoints {
  /**
   * Creates the chat's access point, rooted at the chat's directory (created on first mount), and
   * answers its id once it can be mounted. Idempotent per `clientToken`. Throws `LaunchError`.
   */
  create(key: ChatKey, clientToken: string): Promise<string>;
  /** Deletes an access point; one that is gone already is a success. The data stays. */
  delete(accessPointId: string): Promise<void>;
}
