import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ChatKey, Session, SessionPatch } from '../../core/model.js';
import type {
  ClaimResult,
  ListQuery,
  Page,
  ReuseRequest,
  ReuseResult,
  ScopedUsage,
  SessionStore,
  UpdateResult,
  WriteExpectation,
} from '../../core/ports.js';
import { lostCondition, versionedPut } from './conditional.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { queryDue } from './due-index.js';
import { CHAT_SK, usageKey } from './quota-store.js';
import {
  chatPk,
  duePk,
  fromItem,
  type Item,
  patchExpression,
  SANDBOX_SK,
  tenantPk,
  toItem,
} from './session-item.js';
import { TENANT_INDEX } from './table-definition.js';

/** Filtered list queries read this many index items a page, so a sparse match still fills a page. */
const FILTERED_PAGE_SIZE = 100;
const MAX_LIST_PAGES = 10;
/** BatchGetItem takes at most 100 keys a call; unprocessed keys are retried with backoff. */
const BATCH_GET_SIZE = 100;
const BATCH_GET_ATTEMPTS = 5;
/** Settling transactions tried before the session is left due for the reconciler. */
const SETTLE_ATTEMPTS = 4;

/**
 * The session store over one DynamoDB table. Every write is conditional; a lost condition comes back
 * as a result carrying the item as it stood (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
 */
export class DynamoSessionStore implements SessionStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    /** The client and table, for the other stores over the same table. */
    readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(key: ChatKey): Promise<Session | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey(key), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : null;
  }

  async getMany(keys: readonly ChatKey[]): Promise<(Session | null)[]> {
    const byPk = new Map<string, Session>();
    const unique = [...new Set(keys.map(chatPk))];
    for (let start = 0; start < unique.length; start += BATCH_GET_SIZE) {
      let pending: Item[] = unique.slice(start, start + BATCH_GET_SIZE).map((pk) => ({ pk, sk: SANDBOX_SK }));
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt >= BATCH_GET_ATTEMPTS)
          throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const { Responses, UnprocessedKeys } = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) byPk.set(item.pk as string, fromItem(item));
        pending = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
      }
    }
    return keys.map((key) => byPk.get(chatPk(key)) ?? null);
  }

  async reuse(key: ChatKey, request: ReuseRequest): Promise<ReuseResult> {
    const owner = request.ownerId === undefined ? {} : { ':ownerId': request.ownerId };
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey(key),
          UpdateExpression:
            'SET lastActiveAt = :now, expiresAt = :expiresAt, idleTimeoutSeconds = :idle, #version = #version + :one',
          ConditionExpression:
            '#status IN (:provisioning, :running) AND expiresAt > :now AND agentId = :agentId ' +
            'AND #profile = :profile AND maxExpiresAt >= :expiresAt ' +
            // An expiry earlier than the due time (a shorter idle timeout) must move dueAt too: slow path.
            'AND (attribute_not_exists(dueAt) OR dueAt <= :expiresAt)' +
            // Named by the request, the owner must be the session's; an unowned session takes the slow path.
            (request.ownerId === undefined ? '' : ' AND ownerId = :ownerId'),
          ExpressionAttributeNames: { '#status': 'status', '#profile': 'profile', '#version': 'version' },
          ExpressionAttributeValues: {
            ':now': request.now,
            ':expiresAt': request.expiresAt,
            ':idle': request.idleTimeoutSeconds,
            ':one': 1,
            ':provisioning': 'provisioning',
            ':running': 'running',
            ':agentId': request.agentId,
            ':profile': request.profile,
            ...owner,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, session: fromItem(Attributes!) };
    } catch (error) {
      return { ok: false, current: itemOfFailedCondition(error) };
    }
  }

  async claim(session: Session, expectedVersion: number | null): Promise<ClaimResult> {
    if (expectedVersion === null) return this.claimNewChat(session);
    try {
      const { Attributes } = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(session),
          ...versionedPut(expectedVersion),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, previous: Attributes ? fromItem(Attributes) : null };
    } catch (error) {
      return { ok: false, current: itemOfFailedCondition(error) };
    }
  }

  /**
   * The first session of a chat (no item yet): the put, and a check in the same transaction that
   * the chat's record carries no purge mark. A purge fences chats that have a session by bumping
   * its version; a chat without one has only its record to fence it, so a create that read the
   * record before a purge began cannot claim after it, however late its write lands.
   */
  private async claimNewChat(session: Session): Promise<ClaimResult> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: toItem(session),
                ...versionedPut(null),
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: chatPk(session), sk: CHAT_SK },
                ConditionExpression: 'attribute_not_exists(purgingAt)',
              },
            },
          ],
        }),
      );
      return { ok: true, previous: null };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // Lost to another create (its item, if DynamoDB returned it), to a purge mark, or to a
      // transaction on either item at the same moment: the caller reads the chat again.
      const [put] = error.CancellationReasons ?? [];
      const item = put?.Code === 'ConditionalCheckFailed' ? put.Item : undefined;
      return { ok: false, current: item ? fromItem(unmarshall(item)) : null };
    }
  }

  async update(key: ChatKey, expect: WriteExpectation, patch: SessionPatch): Promise<UpdateResult> {
    const { updateExpression, names, values, condition } = conditionalPatch(key, expect, patch);
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey(key),
          UpdateExpression: updateExpression,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, session: fromItem(Attributes!) };
    } catch (error) {
      return { ok: false, current: itemOfFailedCondition(error) };
    }
  }

  async settle(
    key: ChatKey,
    expect: WriteExpectation,
    patch: SessionPatch,
    usage: readonly ScopedUsage[],
  ): Promise<boolean> {
    const { updateExpression, names, values, condition } = conditionalPatch(key, expect, patch);
    const totals = new Map<
      string,
      {
        key: Item;
        scope: ScopedUsage['scope'];
        day: string;
        sums: [number, number, number];
        sessions: number;
      }
    >();
    for (const entry of usage) {
      const itemKeyOf = usageKey(entry.scope, entry.usage.day);
      const id = `${itemKeyOf.pk}|${itemKeyOf.sk}`;
      const total = totals.get(id) ?? {
        key: itemKeyOf,
        scope: entry.scope,
        day: entry.usage.day,
        sums: [0, 0, 0],
        sessions: 0,
      };
      total.sums[0] += entry.usage.sandboxSeconds;
      total.sums[1] += entry.usage.vcpuSeconds;
      total.sums[2] += entry.usage.gibSeconds;
      total.sessions += entry.sessions;
      totals.set(id, total);
    }
    const ledger = [...totals.values()].map((total) => ({
      Update: {
        TableName: this.tableName,
        Key: total.key,
        UpdateExpression:
          'ADD sandboxSeconds :seconds, vcpuSeconds :vcpu, gibSeconds :gib, sessions :sessions SET tenant = :tenant, #day = :day',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: {
          ':seconds': total.sums[0],
          ':vcpu': total.sums[1],
          ':gib': total.sums[2],
          ':sessions': total.sessions,
          ':tenant': total.scope.tenant,
          ':day': total.day,
        },
      },
    }));
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: itemKey(key),
                  UpdateExpression: updateExpression,
                  ConditionExpression: `${condition} AND attribute_not_exists(settledAt)`,
                  ExpressionAttributeNames: names,
                  ExpressionAttributeValues: values,
                },
              },
              ...ledger,
            ],
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return false;
        // Another transaction on a day total at the same moment: try again, then leave it due.
        if (attempt >= SETTLE_ATTEMPTS - 1) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt + Math.random() * 20));
      }
    }
  }

  async *listDue(dueBy: number): AsyncIterable<Session> {
    for await (const item of queryDue(this.doc, this.tableName, duePk, dueBy)) yield fromItem(item);
  }

  async listByTenant(tenant: string, query: ListQuery): Promise<Page<Session>> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':tenantPk': tenantPk(tenant) };
    if (query.statuses && query.statuses.length > 0) {
      names['#status'] = 'status';
      const placeholders = query.statuses.map((status, index) => {
        values[`:status${index}`] = status;
        return `:status${index}`;
      });
      filters.push(`#status IN (${placeholders.join(', ')})`);
    }
    if (query.agentId !== undefined) {
      filters.push('agentId = :agentId');
      values[':agentId'] = query.agentId;
    }
    if (query.ownerId !== undefined) {
      filters.push('ownerId = :ownerId');
      values[':ownerId'] = query.ownerId;
    }
    const filtered = filters.length > 0;
    let startKey: Item | undefined =
      query.cursor === undefined ? undefined : decodeCursor(query.cursor, tenant);
    const items: Item[] = [];
    // One item more than the page: whether it exists says whether there is a next page, so the
    // last page ends with a null cursor even when it is exactly full.
    const wanted = query.limit + 1;
    for (let page = 0; page < MAX_LIST_PAGES && items.length < wanted; page += 1) {
      const remaining = wanted - items.length;
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: TENANT_INDEX.indexName,
          KeyConditionExpression: 'tenantPk = :tenantPk',
          FilterExpression: filtered ? filters.join(' AND ') : undefined,
          ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: filtered ? Math.max(remaining, FILTERED_PAGE_SIZE) : remaining,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(result.Items ?? []));
      startKey = result.LastEvaluatedKey;
      if (!startKey) break;
    }
    if (items.length > query.limit) {
      // More than the page: resume after the last item kept.
      items.length = query.limit;
      startKey = indexKeyOf(items[items.length - 1]!);
    }
    return { items: items.map(fromItem), nextCursor: startKey ? encodeCursor(startKey) : null };
  }

  async acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `LEASE#${name}`, sk: 'LEASE', holder, until },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :now OR holder = :holder',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':now': now, ':holder': holder },
        }),
      );
      return true;
    } catch (error) {
      itemOfFailedCondition(error);
      return false;
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `LEASE#${name}`, sk: 'LEASE' },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder },
        }),
      );
    } catch (error) {
      itemOfFailedCondition(error);
    }
  }

  async ping(): Promise<void> {
    await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'PING', sk: 'PING' } }));
  }
}

/** An update of a session's patch under the conditions of `expect` (the item must exist). */
function conditionalPatch(key: ChatKey, expect: WriteExpectation, patch: SessionPatch) {
  const { updateExpression, names, values } = patchExpression(key, patch);
  const conditions = ['attribute_exists(pk)'];
  if (expect.sessionId !== undefined) {
    conditions.push('sessionId = :expectSessionId');
    values[':expectSessionId'] = expect.sessionId;
  }
  if (expect.version !== undefined) {
    conditions.push('#version = :expectVersion');
    values[':expectVersion'] = expect.version;
  }
  if (expect.statusIn !== undefined) {
    names['#status'] = 'status';
    const placeholders = expect.statusIn.map((status, index) => {
      values[`:expectStatus${index}`] = status;
      return `:expectStatus${index}`;
    });
    conditions.push(`#status IN (${placeholders.join(', ')})`);
  }
  return { updateExpression, names, values, condition: conditions.join(' AND ') };
}

function itemKey(key: ChatKey): Item {
  return { pk: chatPk(key), sk: SANDBOX_SK };
}

function indexKeyOf(item: Item): Item {
  return { pk: item.pk, sk: item.sk, tenantPk: item.tenantPk, createdSk: item.createdSk };
}

/** The session a failed condition returned (null if none); rethrows anything that is not a lost condition. */
function itemOfFailedCondition(error: unknown): Session | null {
  const item = lostCondition(error);
  return item ? fromItem(item) : null;
}
