/** Maps sessions to and from the table's items (docs/architecture.md, "Table"). */
import type {
  ChatKey,
  Endpoint,
  ReplacedUsage,
  SandboxStatus,
  Session,
  SessionPatch,
  StopReason,
} from '../../core/model.js';
import { DUE_SHARDS } from './table-definition.js';

export const SANDBOX_SK = 'SANDBOX';

export function chatPk({ tenant, chatId }: ChatKey): string {
  return `CHAT#${tenant}#${chatId}`;
}

export function tenantPk(tenant: string): string {
  return `TENANT#${tenant}`;
}

export function duePk(shard: number): string {
  return `LIVE#${shard}`;
}

/** A stable shard for a chat (FNV-1a of its key). */
export function dueShard(key: ChatKey): number {
  let hash = 0x811c9dc5;
  for (const char of `${key.tenant}#${key.chatId}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % DUE_SHARDS;
}

/** Sort key of the tenant index: ISO creation time, then the chat, so equal times stay distinct. */
export function createdSk(session: Pick<Session, 'createdAt' | 'chatId'>): string {
  return `${new Date(session.createdAt).toISOString()}#${session.chatId}`;
}

export type Item = Record<string, unknown>;

/** The full item of a session; null fields are left out, and `due` attributes only while it is due. */
export function toItem(session: Session): Item {
  const key = { tenant: session.tenant, chatId: session.chatId };
  const item: Item = {
    pk: chatPk(key),
    sk: SANDBOX_SK,
    tenantPk: tenantPk(session.tenant),
    createdSk: createdSk(session),
  };
  for (const [name, value] of Object.entries(session)) {
    if (value !== null && value !== undefined) item[name] = value;
  }
  if (session.dueAt !== null) item.duePk = duePk(dueShard(key));
  return item;
}

/** The carried usage as stored: a list (one entry per owner and day); one entry alone is read as a list of it. */
function replacedUsageOf(value: unknown): Session['replacedUsage'] {
  if (Array.isArray(value)) return value as ReplacedUsage[];
  if (value && typeof value === 'object')
    return [{ sessions: 1, ...(value as Omit<ReplacedUsage, 'sessions'>) }];
  return null;
}

export function fromItem(item: Item): Session {
  const text = (name: string) => (typeof item[name] === 'string' ? (item[name] as string) : null);
  const num = (name: string) => (typeof item[name] === 'number' ? (item[name] as number) : null);
  const map = (name: string) => (item[name] ?? {}) as Record<string, string>;
  return {
    tenant: text('tenant')!,
    chatId: text('chatId')!,
    sessionId: text('sessionId')!,
    agentId: text('agentId')!,
    profile: text('profile')!,
    ownerId: text('ownerId'),
    status: text('status') as SandboxStatus,
    endpoint: (item.endpoint as Endpoint | undefined) ?? null,
    runtimeRef: text('runtimeRef'),
    createdAt: num('createdAt')!,
    lastActiveAt: num('lastActiveAt')!,
    expiresAt: num('expiresAt')!,
    maxExpiresAt: num('maxExpiresAt')!,
    idleTimeoutSeconds: num('idleTimeoutSeconds')!,
    runningAt: num('runningAt'),
    stoppedAt: num('stoppedAt'),
    expiringAt: num('expiringAt'),
    settledAt: num('settledAt'),
    replacedUsage: replacedUsageOf(item.replacedUsage),
    stopReason: text('stopReason') as StopReason | null,
    statusDetail: text('statusDetail'),
    metadata: map('metadata'),
    env: map('env'),
    version: num('version')!,
    dueAt: num('dueAt'),
    launchAttempts: num('launchAttempts') ?? 0,
    stopAttempts: num('stopAttempts') ?? 0,
    runtimeEventVersion: num('runtimeEventVersion'),
    ttl: num('ttl'),
  };
}

export interface UpdateParts {
  readonly updateExpression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/**
 * An UpdateExpression for a patch: SET for values, REMOVE for nulls, `version` incremented, and the
 * `due` index attributes kept in step with `dueAt`.
 */
export function patchExpression(key: ChatKey, patch: SessionPatch): UpdateParts {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':one': 1 };
  const sets: string[] = [];
  const removes: string[] = [];
  const entries: [string, unknown][] = Object.entries(patch).filter(([, value]) => value !== undefined);
  if ('dueAt' in patch && patch.dueAt !== undefined) {
    entries.push(['duePk', patch.dueAt === null ? null : duePk(dueShard(key))]);
  }
  for (const [name, value] of entries) {
    names[`#${name}`] = name;
    if (value === null) {
      removes.push(`#${name}`);
    } else {
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
  }
  sets.push('#version = #version + :one');
  const updateExpression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
  return { updateExpression, names, values };
}
