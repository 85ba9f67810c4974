/**
 * The table's change stream as session changes: one stream record of a sandbox item becomes the
 * session before and after it, for `eventsOfChange` (src/core/events.ts). Records of other items
 * (chat records, capacity, usage, volumes) are no session change.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Session } from '../../core/model.js';
import { fromItem, SANDBOX_SK } from './session-item.js';

/** The part of a stream record this reads; DynamoDB Streams' and Lambda's records both fit it. */
export interface StreamRecordLike {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly Keys?: Record<string, unknown>;
    readonly OldImage?: Record<string, unknown>;
    readonly NewImage?: Record<string, unknown>;
    /** Epoch seconds (Lambda's records) or a Date (the Streams client's). */
    readonly ApproximateCreationDateTime?: number | Date;
    readonly SequenceNumber?: string;
  };
}

export interface SessionChange {
  readonly before: Session | null;
  readonly after: Session | null;
  /** When the change was made, epoch ms (the stream's approximate time, to the second on AWS). */
  readonly at: number;
}

/**
 * An attribute value as `unmarshall` reads it. The Streams client hands an empty map over as `{}`
 * (no `M` member), which `unmarshall` refuses; it is an empty map, nested ones included.
 */
function attributeValue(value: unknown): AttributeValue {
  const attribute = value as Record<string, unknown>;
  if (Object.keys(attribute).length === 0) return { M: {} };
  if (attribute.M) return { M: attributes(attribute.M as Record<string, unknown>) };
  if (attribute.L) return { L: (attribute.L as unknown[]).map(attributeValue) };
  return attribute as unknown as AttributeValue;
}

function attributes(map: Record<string, unknown>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, attributeValue(value)]));
}

function image(value: Record<string, unknown> | undefined): Session | null {
  return value ? fromItem(unmarshall(attributes(value))) : null;
}

function timeOf(value: number | Date | undefined): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value * 1000;
  return Date.now();
}

/** The session change a stream record carries, or null for a record of any other item. */
export function sessionChangeOf(record: StreamRecordLike): SessionChange | null {
  const keys = record.dynamodb?.Keys as { sk?: { S?: string } } | undefined;
  if (keys?.sk?.S !== SANDBOX_SK) return null;
  return {
    before: image(record.dynamodb?.OldImage),
    after: image(record.dynamodb?.NewImage),
    at: timeOf(record.dynamodb?.ApproximateCreationDateTime),
  };
}
