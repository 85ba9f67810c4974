import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  DUE_INDEX,
  KEY_ATTRIBUTE_TYPES,
  STREAM_VIEW_TYPE,
  TABLE_KEYS,
  TENANT_INDEX,
  TTL_ATTRIBUTE,
} from '../../src/adapters/dynamodb/table-definition.js';

/** Logical ID of the table; changing it would replace the table and lose every session. */
export const SESSION_TABLE_LOGICAL_ID = 'SessionTable';

type KeyAttributeName = keyof typeof KEY_ATTRIBUTE_TYPES;

/** Turns a key attribute name from the shared table definition into a CDK attribute. */
function attribute(name: KeyAttributeName): dynamodb.Attribute {
  const type =
    KEY_ATTRIBUTE_TYPES[name] === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING;
  return { name, type };
}

/**
 * The session table, built from the same definition local mode uses for CreateTable, so the keys, the
 * sparse `due` index, the `byTenant` index, the TTL attribute and the change stream (which the
 * lifecycle events come from) cannot drift between local and AWS.
 * On-demand billing keeps idle cost at zero; PITR, deletion protection and RETAIN guard the data.
 */
export class SessionTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(TABLE_KEYS.partitionKey),
      sortKey: attribute(TABLE_KEYS.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream: dynamodb.StreamViewType[STREAM_VIEW_TYPE],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Pinned so that moving or renaming this construct never replaces the table.
    (this.table.node.defaultChild as dynamodb.CfnTable).overrideLogicalId(SESSION_TABLE_LOGICAL_ID);

    for (const index of [DUE_INDEX, TENANT_INDEX]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
