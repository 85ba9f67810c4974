/**
 * How sandbox resources on AWS are named and labelled. Tenant ids may be IAM ARNs (up to 256
 * characters with `:`, `/`, `,` ...), which fit neither ECS names nor `startedBy` nor EFS paths, so
 * resources carry a 16-hex hash of the tenant; the tenant directory maps it back.
 */
import { createHash } from 'node:crypto';
import type { ChatKey } from '../core/model.js';

/** First 16 hex digits of SHA-256 of the tenant id. */
export function tenantHash(tenant: string): string {
  return createHash('sha256').update(tenant).digest('hex').slice(0, 16);
}

/** The per-chat task-definition family: `<prefix>-<tenant hash>-<chatId>`. */
export function taskFamily(prefix: string, key: ChatKey): string {
  return `${prefix}-${tenantHash(key.tenant)}-${key.chatId}`;
}

/** A chat's directory below the file system's `/chats`: `<tenant hash>/<chatId>`. */
export function chatDirectoryBelowChats(key: ChatKey): string {
  return `${tenantHash(key.tenant)}/${key.chatId}`;
}

/** Root directory of a chat's access point: `/chats/<tenant hash>/<chatId>` (EFS allows 100 chars, 4 levels). */
export function chatRootPath(key: ChatKey): string {
  return `/chats/${chatDirectoryBelowChats(key)}`;
}

/** What a task's `startedBy` tells about it: enough to find its session without a scan. */
export interface TaskOwner {
  readonly tenantHash: string;
  readonly chatId: string;
  readonly sessionId: string;
  /** The sandbox port, so an endpoint can be built from the task alone. */
  readonly port: number;
}

const STARTED_BY_VERSION = 'sbx1';
const STARTED_BY_PATTERN = /^sbx1\/([0-9a-f]{16})\/([0-9a-f-]{36})\/([A-Za-z0-9-]{1,64})\/(\d{1,5})$/;

/**
 * `startedBy` of a sandbox task: `sbx1/<tenant hash>/<chatId>/<sessionId>/<port>` (at most 128 of
 * `[A-Za-z0-9/_-]`). ECS repeats it in every task state change event, unlike tags.
 */
export function encodeStartedBy(owner: TaskOwner): string {
  return [STARTED_BY_VERSION, owner.tenantHash, owner.chatId, owner.sessionId, owner.port].join('/');
}

/** The owner a `startedBy` names; null for tasks this control plane did not start. */
export function parseStartedBy(startedBy: string | undefined): TaskOwner | null {
  const match = startedBy ? STARTED_BY_PATTERN.exec(startedBy) : null;
  if (!match) return null;
  const port = Number(match[4]);
  if (port < 1 || port > 65_535) return null;
  return { tenantHash: match[1]!, chatId: match[2]!, sessionId: match[3]!, port };
}

/** Whether a session id fits `startedBy` (the control plane's ids are UUIDs). */
export function isEncodableSessionId(sessionId: string): boolean {
  return /^[A-Za-z0-9-]{1,64}$/.test(sessionId);
}

/** Tag keys on tasks, task definitions and access points. */
export const TAG_KEYS = {
  tenant: 'sandbox:tenant',
  tenantHash: 'sandbox:tenant-hash',
  chatId: 'sandbox:chat-id',
  sessionId: 'sandbox:session-id',
  agentId: 'sandbox:agent-id',
  profile: 'sandbox:profile',
  /** On task definitions: the digest of what the revision was derived from. */
  fingerprint: 'sandbox:fingerprint',
  /** On chat access points: the file system they belong to, so IAM can bind deletes to this one. */
  fileSystemId: 'sandbox:file-system-id',
  /** On task definitions: the chat access point the revision mounts. */
  accessPointId: 'sandbox:access-point-id',
} as const;

/**
 * A tag value for people reading the console: ECS and EFS tag values allow letters, digits, spaces and
 * `+ - = . _ : / @` up to 256 characters; anything else becomes `_`. Code never reads it back.
 */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{N} +\-=._:/@]/gu, '_').slice(0, 256);
}

export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** Tags that label a chat's resources. */
export function chatTags(key: ChatKey): Tag[] {
  return [
    { key: TAG_KEYS.tenant, value: tagValue(key.tenant) },
    { key: TAG_KEYS.tenantHash, value: tenantHash(key.tenant) },
    { key: TAG_KEYS.chatId, value: key.chatId },
  ];
}
