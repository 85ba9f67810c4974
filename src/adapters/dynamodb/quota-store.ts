/**
 * Owners, capacity, tenant limits and the usage ledger, in the session table:
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | chat | `CHAT#<tenant>#<chatId>` | `CHAT` | `ownerId`, `createdAt` (no TTL: it outlives the sessions) |
 * | tenant capacity | `QUOTA#<tenant>` | `TENANT` | `members`: chat id -> token; `lastTakeAt`; `duePk`/`dueAt` while a recount is due |
 * | owner capacity | `QUOTA#<tenant>` | `OWNER#<ownerId>` | the same, for one owner |
 * | tenant limits | `LIMITS#<tenant>` | `LIMITS` | `maxLiveSandboxes`, `maxLivePerOwner` (set by the operator command) |
 * | usage, per day | `USAGE#<tenant>` | `TENANT#<day>` or `OWNER#<ownerId>#<day>` | `sandboxSeconds`, `vcpuSeconds`, `gibSeconds`, `sessions` |
 *
 * Capacity items sit in the sparse `due` index under partitions of their own (`QUOTA#<shard>`), so
 * the recount reads only the scopes a take marked due, never the table.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChatKey } from '../../core/model.js';
import type {
  ChatRecord,
  DayTotals,
  OwnerClaim,
  QuotaScope,
  QuotaState,
  QuotaStore,
  TakeOptions,
  TakeResult,
  TenantLimits,
} from '../../core/quota-ports.js';
import { lostCondition } from './conditional.js';
import { queryDue } from './due-index.js';
import { chatPk, dueShard, type Item } from './session-item.js';

export const CHAT_SK = 'CHAT';

function chatKey(key: ChatKey): Item {
  return { pk: chatPk(key), sk: CHAT_SK };
}

/** The key of a scope's capacity item. */
export function quotaKey(scope: QuotaScope): Item {
  return { pk: `QUOTA#${scope.tenant}`, sk: scope.kind === 'tenant' ? 'TENANT' : `OWNER#${scope.ownerId}` };
}

/** Partition of the `due` index that holds a shard's capacity items. */
export function quotaDuePk(scope: QuotaScope): string {
  const name = scope.kind === 'tenant' ? '' : scope.ownerId;
  return `QUOTA#${dueShard({ tenant: scope.tenant, chatId: name })}`;
}

/** The key of a scope's usage on a day. */
export function usageKey(scope: QuotaScope, day: string): Item {
  return {
    pk: `USAGE#${scope.tenant}`,
    sk: scope.kind === 'tenant' ? `TENANT#${day}` : `OWNER#${scope.ownerId}#${day}`,
  };
}

function limitsKey(tenant: string): Item {
  return { pk: `LIMITS#${tenant}`, sk: 'LIMITS' };
}

function scopeOf(item: Item): QuotaScope {
  const tenant = item.tenant as string;
  return item.kind === 'owner'
    ? { kind: 'owner', tenant, ownerId: item.ownerId as string }
    : { kind: 'tenant', tenant };
}

const MEMBER = { '#members': 'members', '#chat': 'chat' } as const;
const MEMBER_OF = (chatId: string) => ({ ...MEMBER, '#chat': chatId });

/** `QuotaStore` over the session table. */
export class DynamoQuotaStore implements QuotaStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async getChat(key: ChatKey): Promise<ChatRecord | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: chatKey(key), ConsistentRead: true }),
    );
    if (!Item) return null;
    return {
      ...key,
      ownerId: typeof Item.ownerId === 'string' ? Item.ownerId : null,
      createdAt: Item.createdAt as number,
      purgingAt: typeof Item.purgingAt === 'number' ? Item.purgingAt : null,
    };
  }

  async claimOwner(key: ChatKey, ownerId: string, now: number): Promise<OwnerClaim> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: chatKey(key),
          UpdateExpression:
            'SET ownerId = :owner, tenant = :tenant, chatId = :chatId, createdAt = if_not_exists(createdAt, :now)',
          ConditionExpression: 'attribute_not_exists(ownerId) OR ownerId = :owner',
          ExpressionAttributeValues: {
            ':owner': ownerId,
            ':tenant': key.tenant,
            ':chatId': key.chatId,
            ':now': now,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true };
    } catch (error) {
      const item = lostCondition(error);
      return { ok: false, ownerId: String(item?.ownerId ?? '') };
    }
  }

  async take(scope: QuotaScope, chatId: string, token: string, options: TakeOptions): Promise<TakeResult> {
    const { limit, now, graceMs, replaces, over } = options;
    // Added under the limit, or taken over from the replaced session's token, or from `over`.
    const condition = over
      ? '#members.#chat = :over'
      : replaces
        ? 'attribute_exists(#members) AND ((attribute_not_exists(#members.#chat) AND size(#members) < :limit) OR begins_with(#members.#chat, :replaces))'
        : 'attribute_exists(#members) AND attribute_not_exists(#members.#chat) AND size(#members) < :limit';
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const { Attributes } = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: quotaKey(scope),
            // The due time is set by the first take after a recount and then stays, so a scope
            // that is taken from all the time still comes due; `lastTakeAt` tells the recount
            // whether a take came after what it judged.
            UpdateExpression:
              'SET #members.#chat = :token, lastTakeAt = :now, duePk = if_not_exists(duePk, :duePk), dueAt = if_not_exists(dueAt, :dueAt)',
            ConditionExpression: condition,
            ExpressionAttributeNames: MEMBER_OF(chatId),
            ExpressionAttributeValues: {
              ':token': token,
              ':now': now,
              ':duePk': quotaDuePk(scope),
              ':dueAt': now + graceMs,
              ...(over ? { ':over': over } : { ':limit': limit }),
              ...(replaces && !over ? { ':replaces': `${replaces}@` } : {}),
            },
            ReturnValues: 'UPDATED_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const previous = (Attributes?.members ?? {}) as Record<string, unknown>;
        const held = previous[chatId];
        return { ok: true, previous: typeof held === 'string' ? held : null };
      } catch (error) {
        const members = lostCondition(error)?.members as Record<string, unknown> | undefined;
        if (members) {
          const held = members[chatId];
          if (typeof held === 'string') return { ok: false, full: false, held };
          if (over) return { ok: false, full: false, held: null };
          return { ok: false, full: true, current: Object.keys(members).length };
        }
        if (over) return { ok: false, full: false, held: null };
        // The scope's first take: create its item, then take again.
        await this.create(scope);
      }
    }
    throw new Error(`capacity item of ${JSON.stringify(scope)} could not be created`);
  }

  private async create(scope: QuotaScope): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...quotaKey(scope),
            kind: scope.kind,
            tenant: scope.tenant,
            ...(scope.kind === 'owner' ? { ownerId: scope.ownerId } : {}),
            members: {},
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }

  async handOver(scope: QuotaScope, chatId: string, from: string, to: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: quotaKey(scope),
          UpdateExpression: 'SET #members.#chat = :to',
          ConditionExpression: '#members.#chat = :from',
          ExpressionAttributeNames: MEMBER_OF(chatId),
          ExpressionAttributeValues: { ':from': from, ':to': to },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }

  async giveBack(scope: QuotaScope, chatId: string, token: string): Promise<void> {
    await this.removeMember(scope, chatId, '#members.#chat = :token', { ':token': token });
  }

  async release(scope: QuotaScope, chatId: string, sessionId: string, now: number): Promise<void> {
    const held = await this.removeMember(scope, chatId, 'begins_with(#members.#chat, :prefix)', {
      ':prefix': `${sessionId}@`,
    });
    if (held === undefined) return;
    // Held under another session's token: a successor's (rightly) or one a lost claim left. The
    // recount judges which; marking the scope due now is what makes it look, and `lastTakeAt` keeps
    // a recount that read the scope before this release from settling it.
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: quotaKey(scope),
          UpdateExpression:
            'SET duePk = if_not_exists(duePk, :duePk), dueAt = if_not_exists(dueAt, :now), lastTakeAt = :now',
          ConditionExpression: 'attribute_exists(#members.#chat)',
          ExpressionAttributeNames: MEMBER_OF(chatId),
          ExpressionAttributeValues: { ':duePk': quotaDuePk(scope), ':now': now },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }

  /** Removes the chat's unit if `condition` holds; answers the token it is held with otherwise. */
  private async removeMember(
    scope: QuotaScope,
    chatId: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<string | undefined> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: quotaKey(scope),
          UpdateExpression: 'REMOVE #members.#chat',
          ConditionExpression: condition,
          ExpressionAttributeNames: MEMBER_OF(chatId),
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      const members = lostCondition(error)?.members as Record<string, unknown> | undefined;
      const token = members?.[chatId];
      return typeof token === 'string' ? token : undefined;
    }
  }

  async count(scope: QuotaScope): Promise<number> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: quotaKey(scope), ConsistentRead: true }),
    );
    return Item?.members ? Object.keys(Item.members as object).length : 0;
  }

  async *listDue(dueBy: number): AsyncIterable<QuotaState> {
    for await (const item of queryDue(this.doc, this.tableName, (shard) => `QUOTA#${shard}`, dueBy)) {
      yield { scope: scopeOf(item), members: (item.members ?? {}) as Record<string, string> };
    }
  }

  async settleRecount(scope: QuotaScope, judgedUpTo: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: quotaKey(scope),
          UpdateExpression: 'REMOVE duePk, dueAt',
          // A take the recount did not judge (later, or not yet in the index it read) keeps it due.
          ConditionExpression: 'lastTakeAt <= :judgedUpTo',
          ExpressionAttributeValues: { ':judgedUpTo': judgedUpTo },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }

  async limits(tenant: string): Promise<TenantLimits | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: limitsKey(tenant) }),
    );
    if (!Item) return null;
    return {
      ...(typeof Item.maxLiveSandboxes === 'number' ? { maxLiveSandboxes: Item.maxLiveSandboxes } : {}),
      ...(typeof Item.maxLivePerOwner === 'number' ? { maxLivePerOwner: Item.maxLivePerOwner } : {}),
    };
  }

  async setLimits(tenant: string, limits: TenantLimits | null): Promise<void> {
    if (limits === null) {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: limitsKey(tenant) }));
      return;
    }
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: { ...limitsKey(tenant), tenant, ...limits } }),
    );
  }

  async usage(scope: QuotaScope, from: string, to: string): Promise<DayTotals[]> {
    const prefix = scope.kind === 'tenant' ? 'TENANT#' : `OWNER#${scope.ownerId}#`;
    const days: DayTotals[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': `USAGE#${scope.tenant}`,
            ':from': `${prefix}${from}`,
            ':to': `${prefix}${to}`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        days.push({
          date: String(item.sk).slice(prefix.length),
          sandboxSeconds: Number(item.sandboxSeconds ?? 0),
          vcpuSeconds: Number(item.vcpuSeconds ?? 0),
          gibSeconds: Number(item.gibSeconds ?? 0),
          sessions: Number(item.sessions ?? 0),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return days;
  }
}
