/**
 * Chat volume records and the tenant-hash directory, in the session table.
 *
 * - `VOLUME` item (pk `CHAT#<tenant>#<chatId>`, sk `VOLUME`): the chat's access point and task
 *   definitions. It sits in the sparse `due` index under its own partitions `VOLUME#<shard>` with
 *   `dueAt` = when it may be retired, so retirement reads only due volumes and the session
 *   reconciler, which reads `LIVE#<shard>`, never sees them.
 * - Tenant item (pk `TENANTHASH#<hash>`, sk `TENANT`): the tenant behind a 16-hex tenant hash.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChatKey } from '../../core/model.js';
import {
  type ChatVolume,
  type ChatVolumeStore,
  type NewChatVolume,
  type TenantDirectory,
  TenantHashCollisionError,
} from '../../core/volume-ports.js';
import { lostCondition, versionedPut } from './conditional.js';
import { queryDue } from './due-index.js';
import { chatPk, dueShard, type Item } from './session-item.js';

export const VOLUME_SK = 'VOLUME';
const TENANT_SK = 'TENANT';

/** Partition of the `due` index that holds a shard's volumes. */
export function volumeDuePk(shard: number): string {
  return `VOLUME#${shard}`;
}

function volumeKey(key: ChatKey): Item {
  return { pk: chatPk(key), sk: VOLUME_SK };
}

function fromItem(item: Item): ChatVolume {
  return {
    tenant: item.tenant as string,
    chatId: item.chatId as string,
    fileSystemId: item.fileSystemId as string,
    accessPointId: item.accessPointId as string,
    taskDefinitions: (item.taskDefinitions ?? {}) as ChatVolume['taskDefinitions'],
    lastUsedAt: item.lastUsedAt as number,
    retireAt: item.dueAt as number,
    state: item.state === 'retiring' ? 'retiring' : 'active',
    version: item.version as number,
  };
}

/** `ChatVolumeStore` and `TenantDirectory` over the session table. */
export class DynamoVolumeStore implements ChatVolumeStore, TenantDirectory {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(key: ChatKey): Promise<ChatVolume | null> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: volumeKey(key), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : null;
  }

  async put(volume: NewChatVolume, expectedVersion: number | null): Promise<ChatVolume | null> {
    const key = { tenant: volume.tenant, chatId: volume.chatId };
    const item: Item = {
      ...volumeKey(key),
      tenant: volume.tenant,
      chatId: volume.chatId,
      fileSystemId: volume.fileSystemId,
      accessPointId: volume.accessPointId,
      taskDefinitions: volume.taskDefinitions,
      lastUsedAt: volume.lastUsedAt,
      state: 'active',
      version: (expectedVersion ?? 0) + 1,
      duePk: volumeDuePk(dueShard(key)),
      dueAt: volume.retireAt,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...versionedPut(expectedVersion),
        }),
      );
      return fromItem(item);
    } catch (error) {
      lostCondition(error);
      return null;
    }
  }

  async touch(key: ChatKey, now: number, retireAt: number): Promise<ChatVolume | null> {
    return this.conditionalUpdate(key, {
      UpdateExpression: 'SET lastUsedAt = :now, dueAt = :retireAt, #version = #version + :one',
      ConditionExpression: 'attribute_exists(pk) AND #state = :active',
      ExpressionAttributeNames: { '#version': 'version', '#state': 'state' },
      ExpressionAttributeValues: { ':now': now, ':retireAt': retireAt, ':one': 1, ':active': 'active' },
    });
  }

  async *listDue(dueBy: number): AsyncIterable<ChatVolume> {
    for await (const item of queryDue(this.doc, this.tableName, volumeDuePk, dueBy)) yield fromItem(item);
  }

  async markRetiring(
    key: ChatKey,
    expectedVersion: number,
    now: number,
    retryAt: number,
    options: { readonly mustBeDue?: boolean } = {},
  ): Promise<ChatVolume | null> {
    const mustBeDue = options.mustBeDue ?? true;
    return this.conditionalUpdate(key, {
      UpdateExpression: 'SET #state = :retiring, dueAt = :retryAt, #version = #version + :one',
      ConditionExpression: mustBeDue ? '#version = :expected AND dueAt <= :now' : '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version', '#state': 'state' },
      ExpressionAttributeValues: {
        ':retiring': 'retiring',
        ':retryAt': retryAt,
        ':one': 1,
        ':expected': expectedVersion,
        ...(mustBeDue ? { ':now': now } : {}),
      },
    });
  }

  async remove(key: ChatKey, expectedVersion: number): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: volumeKey(key),
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      lostCondition(error);
      return false;
    }
  }

  async remember(hash: string, tenant: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `TENANTHASH#${hash}`, sk: TENANT_SK, tenant },
          ConditionExpression: 'attribute_not_exists(pk) OR tenant = :tenant',
          ExpressionAttributeValues: { ':tenant': tenant },
        }),
      );
    } catch (error) {
      lostCondition(error);
      throw new TenantHashCollisionError(hash);
    }
  }

  async lookup(hash: string): Promise<string | null> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `TENANTHASH#${hash}`, sk: TENANT_SK },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.tenant === 'string' ? Item.tenant : null;
  }

  private async conditionalUpdate(
    key: ChatKey,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<ChatVolume | null> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: volumeKey(key),
          ...update,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromItem(Attributes) : null;
    } catch (error) {
      lostCondition(error);
      return null;
    }
  }
}
