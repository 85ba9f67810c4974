/**
 * Purge marks on the chat record (`CHAT#<tenant>#<chatId>` / `CHAT`): `purgingAt`, and `duePk`
 * (`PURGE#<shard>`) / `dueAt` in the sparse due index, so a purge that stopped half-way is found
 * and finished by the reconciler. Removing the record ends the purge (and the chat's owner).
 * The fence on the session item (`purgingAt` and a version bump) turns away every create that read
 * the session before it; a chat's first claim checks the record's mark in its own transaction.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChatPurges } from '../../core/chat-files-port.js';
import type { ChatKey } from '../../core/model.js';
import { lostCondition } from './conditional.js';
import { queryDue } from './due-index.js';
import { CHAT_SK } from './quota-store.js';
import { chatPk, dueShard, SANDBOX_SK } from './session-item.js';

function recordKey(key: ChatKey) {
  return { pk: chatPk(key), sk: CHAT_SK };
}

export class DynamoChatPurges implements ChatPurges {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async mark(key: ChatKey, now: number, dueAt: number): Promise<number> {
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: recordKey(key),
        UpdateExpression:
          'SET purgingAt = if_not_exists(purgingAt, :now), duePk = :duePk, dueAt = if_not_exists(dueAt, :dueAt), tenant = :tenant, chatId = :chatId, createdAt = if_not_exists(createdAt, :now)',
        ExpressionAttributeValues: {
          ':now': now,
          ':duePk': `PURGE#${dueShard(key)}`,
          ':dueAt': dueAt,
          ':tenant': key.tenant,
          ':chatId': key.chatId,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes!.purgingAt as number;
  }

  async cancel(key: ChatKey, purgingAt: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: recordKey(key),
          UpdateExpression: 'REMOVE purgingAt, duePk, dueAt',
          ConditionExpression: 'purgingAt = :at',
          ExpressionAttributeValues: { ':at': purgingAt },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }

  async *listDue(dueBy: number): AsyncIterable<{ key: ChatKey; purgingAt: number }> {
    for await (const item of queryDue(this.doc, this.tableName, (shard) => `PURGE#${shard}`, dueBy)) {
      yield {
        key: { tenant: item.tenant as string, chatId: item.chatId as string },
        purgingAt: item.purgingAt as number,
      };
    }
  }

  async fenceSession(key: ChatKey, purgingAt: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: chatPk(key), sk: SANDBOX_SK },
          UpdateExpression: 'SET purgingAt = :at, #version = #version + :one',
          // Only a final session the reconciler is done with (settled, nothing due): a live one means
          // a sandbox started, and an unsettled one still owes the usage ledger its run time.
          ConditionExpression:
            'attribute_exists(pk) AND #status IN (:stopped, :failed) AND attribute_not_exists(duePk)',
          ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
          ExpressionAttributeValues: {
            ':at': purgingAt,
            ':one': 1,
            ':stopped': 'stopped',
            ':failed': 'failed',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      // No session at all: nothing to fence (the chat record's mark fences a chat's first claim).
      if (lostCondition(error) === null) return;
      throw new Error('the chat has a session that is live or not settled yet: the purge waits');
    }
  }

  async isFenced(key: ChatKey, purgingAt: number): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: chatPk(key), sk: SANDBOX_SK },
        ConsistentRead: true,
        ProjectionExpression: 'purgingAt',
      }),
    );
    return !Item || Item.purgingAt === purgingAt;
  }

  async removeSession(key: ChatKey, purgingAt: number): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: chatPk(key), sk: SANDBOX_SK },
          ConditionExpression: 'attribute_not_exists(pk) OR purgingAt = :at',
          ExpressionAttributeValues: { ':at': purgingAt },
        }),
      );
    } catch (error) {
      lostCondition(error);
      throw new Error('the chat has a session this purge did not fence: the purge waits');
    }
  }

  async finish(key: ChatKey, purgingAt: number): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: recordKey(key),
          ConditionExpression: 'purgingAt = :at',
          ExpressionAttributeValues: { ':at': purgingAt },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }
}
