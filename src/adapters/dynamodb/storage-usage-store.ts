/**
 * The measured size of chat storage per scope, in the session table:
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | storage of an owner | `STORAGE#<tenant>` | `OWNER#<ownerId>` | `chats`: chat id -> bytes at its last measurement |
 * | storage of unowned chats | `STORAGE#<tenant>` | `UNOWNED` | the same |
 *
 * One item per scope holds every chat's figure, so the quota check reads one item. A chat entry is
 * about 50 bytes: an item stays under DynamoDB's 400 KB for several thousand chats per owner.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StorageScope, StorageUsageStore } from '../../core/chat-files-port.js';
import { lostCondition } from './conditional.js';
import type { Item } from './session-item.js';

function storageKey(scope: StorageScope): Item {
  return { pk: `STORAGE#${scope.tenant}`, sk: scope.kind === 'owner' ? `OWNER#${scope.ownerId}` : 'UNOWNED' };
}

export class DynamoStorageUsageStore implements StorageUsageStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get(scope: StorageScope): Promise<Readonly<Record<string, number>>> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: storageKey(scope), ConsistentRead: true }),
    );
    const chats = (Item?.chats ?? {}) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(chats).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
    );
  }

  async set(scope: StorageScope, chatId: string, bytes: number): Promise<void> {
    // A map entry can only be set once the map exists: set the entry, else create the map with it.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: storageKey(scope),
            UpdateExpression: 'SET chats.#chat = :bytes',
            ConditionExpression: 'attribute_exists(chats)',
            ExpressionAttributeNames: { '#chat': chatId },
            ExpressionAttributeValues: { ':bytes': bytes },
          }),
        );
        return;
      } catch (error) {
        lostCondition(error);
      }
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: storageKey(scope),
            UpdateExpression: 'SET chats = :chats',
            ConditionExpression: 'attribute_not_exists(chats)',
            ExpressionAttributeValues: { ':chats': { [chatId]: bytes } },
          }),
        );
        return;
      } catch (error) {
        // Another writer created the map first: set the entry in it.
        lostCondition(error);
      }
    }
    throw new Error('storage usage: the map kept changing shape');
  }

  async remove(scope: StorageScope, chatId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: storageKey(scope),
          UpdateExpression: 'REMOVE chats.#chat',
          // Without it an update would create an empty item for a scope that has none.
          ConditionExpression: 'attribute_exists(chats.#chat)',
          ExpressionAttributeNames: { '#chat': chatId },
        }),
      );
    } catch (error) {
      lostCondition(error);
    }
  }
}
