/**
 * The session table's definition: keys, the sparse `due` index, the `byTenant` index and the TTL
 * attribute. Plain data, shared by local mode's CreateTable, the tests and the CDK stack, so the three
 * can never disagree.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
} as const;

export const DUE_INDEX = {
  indexName: 'due',
  partitionKey: 'duePk',
  sortKey: 'dueAt',
} as const;

export const TENANT_INDEX = {
  indexName: 'byTenant',
  partitionKey: 'tenantPk',
  sortKey: 'createdSk',
} as const;

export const TTL_ATTRIBUTE = 'ttl';

/**
 * The table's change stream: every change with the item before and after it, which the lifecycle
 * events are derived from (src/core/events.ts).
 */
export const STREAM_VIEW_TYPE = 'NEW_AND_OLD_IMAGES';

/** Number of `due` index partitions; spreads a busy reconcile read over several partitions. */
export const DUE_SHARDS = 16;

/** Attribute types of every key attribute, for CreateTable and the CDK table. */
export const KEY_ATTRIBUTE_TYPES = {
  pk: 'S',
  sk: 'S',
  duePk: 'S',
  dueAt: 'N',
  tenantPk: 'S',
  createdSk: 'S',
} as const satisfies Record<string, 'S' | 'N'>;
