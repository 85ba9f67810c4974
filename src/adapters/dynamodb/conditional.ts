/**
 * Conditional writes, the one way this adapter writes: a lost condition is a result for the caller,
 * never an exception; anything else is rethrown.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Item } from './session-item.js';

/**
 * The item a failed condition returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), null when
 * there was none; rethrows anything that is not a lost condition.
 */
export function lostCondition(error: unknown): Item | null {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
  return error.Item ? unmarshall(error.Item) : null;
}

/**
 * The condition of a versioned put: the item is absent (`expectedVersion` null) or still at
 * `expectedVersion`.
 */
export function versionedPut(expectedVersion: number | null): {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  if (expectedVersion === null) return { ConditionExpression: 'attribute_not_exists(pk)' };
  return {
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
  };
}
