import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CHAT_FILE_SYSTEM_LOGICAL_ID } from '../../infra/constructs/chat-file-system.js';
import { SESSION_TABLE_LOGICAL_ID } from '../../infra/constructs/session-table.js';
import {
  DUE_INDEX,
  KEY_ATTRIBUTE_TYPES,
  TABLE_KEYS,
  TENANT_INDEX,
  TTL_ATTRIBUTE,
} from '../../src/adapters/dynamodb/table-definition.js';
import { synthApp } from './synth.js';

const { statefulTemplate: template } = synthApp();

/** The one resource of a type in the stateful template, by logical ID and body. */
function only(type: string): {
  id: string;
  body: { Properties: Record<string, unknown> } & Record<string, unknown>;
} {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  const [id, body] = found[0]!;
  return { id, body: body as { Properties: Record<string, unknown> } };
}

describe('session table', () => {
  it('keeps its logical ID, so a deploy never replaces the table', () => {
    expect(SESSION_TABLE_LOGICAL_ID).toBe('SessionTable');
    expect(only('AWS::DynamoDB::Table').id).toBe('SessionTable');
  });

  it('names the table in an output, for the operator command that sets tenant limits', () => {
    template.hasOutput('SessionTableName', { Value: { Ref: 'SessionTable' } });
  });

  it('uses the key schema and attribute types of the shared table definition', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith(
        Object.entries(KEY_ATTRIBUTE_TYPES).map(([name, type]) => ({
          AttributeName: name,
          AttributeType: type,
        })),
      ),
    });
    const definitions = only('AWS::DynamoDB::Table').body.Properties.AttributeDefinitions as unknown[];
    expect(definitions).toHaveLength(Object.keys(KEY_ATTRIBUTE_TYPES).length);
  });

  it('has the due and byTenant indexes with full projection', () => {
    const indexes = [DUE_INDEX, TENANT_INDEX].map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    }));
    template.hasResourceProperties('AWS::DynamoDB::Table', { GlobalSecondaryIndexes: indexes });
  });

  it('expires terminal items through TTL on the shared attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
  });

  it('bills on demand, with point-in-time recovery and deletion protection, and is retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('chat file system', () => {
  it('keeps its logical ID, so a deploy never replaces the file system', () => {
    expect(CHAT_FILE_SYSTEM_LOGICAL_ID).toBe('ChatFileSystem');
    expect(only('AWS::EFS::FileSystem').id).toBe('ChatFileSystem');
  });

  it('is encrypted, elastic, backed up and retained', () => {
    template.hasResource('AWS::EFS::FileSystem', {
      Properties: Match.objectLike({
        Encrypted: true,
        ThroughputMode: 'elastic',
        BackupPolicy: { Status: 'ENABLED' },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('has a policy of exactly two statements: deny without TLS, allow mount and write via access points', () => {
    const policy = only('AWS::EFS::FileSystem').body.Properties.FileSystemPolicy as { Statement: unknown[] };
    expect(policy.Statement).toHaveLength(2);
  });

  it('denies every request that does not use TLS', () => {
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyWithoutTls',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ]),
      },
    });
  });

  it('allows ClientMount and ClientWrite only over TLS, via a mount target and through an access point', () => {
    // Without ClientMount in this statement every mount fails with "access denied by server".
    template.hasResourceProperties('AWS::EFS::FileSystem', {
      FileSystemPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowMountThroughAccessPointsOverTls',
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
            Condition: {
              Bool: { 'aws:SecureTransport': 'true', 'elasticfilesystem:AccessedViaMountTarget': 'true' },
              StringLike: {
                // cdk.json's enablePartitionLiterals writes the partition out for a known region.
                'elasticfilesystem:AccessPointArn':
                  'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/*',
              },
            },
          },
        ]),
      },
    });
  });

  it('never grants ClientRootAccess: access points enforce the sandbox user', () => {
    const policy = JSON.stringify(only('AWS::EFS::FileSystem').body.Properties.FileSystemPolicy);
    expect(policy).not.toContain('ClientRootAccess');
  });

  it.each([
    ['dependencies', '/shared/dependencies'],
    ['tools', '/shared/tools'],
  ])('has a %s access point whose directory is created with owner and permissions', (_name, path) => {
    template.hasResourceProperties('AWS::EFS::AccessPoint', {
      FileSystemId: { Ref: 'ChatFileSystem' },
      PosixUser: { Uid: '1000', Gid: '1000' },
      RootDirectory: { Path: path, CreationInfo: { OwnerUid: '1000', OwnerGid: '1000', Permissions: '755' } },
    });
  });

  it('has a chats access point, the storage function’s way in: /chats, created 750, as the sandbox user', () => {
    template.hasResourceProperties('AWS::EFS::AccessPoint', {
      FileSystemId: { Ref: 'ChatFileSystem' },
      PosixUser: { Uid: '1000', Gid: '1000' },
      RootDirectory: {
        Path: '/chats',
        CreationInfo: { OwnerUid: '1000', OwnerGid: '1000', Permissions: '750' },
      },
    });
    template.resourceCountIs('AWS::EFS::AccessPoint', 3);
  });

  it('puts its mount targets behind a security group with no open ingress and no egress', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const [group] = Object.values(groups) as { Properties: Record<string, unknown> }[];
    expect(Object.keys(groups)).toHaveLength(1);
    expect(group?.Properties.SecurityGroupIngress).toBeUndefined();
    // CDK's placeholder rule for "no egress": it matches no real address.
    expect(group?.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '255.255.255.255/32' }),
    ]);
    template.resourceCountIs('AWS::EFS::MountTarget', 2);
  });
});

describe('network', () => {
  it('creates a VPC with public subnets only and no NAT gateway, so nothing bills by the hour', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
  });

  it('routes DynamoDB through a gateway endpoint on the new VPC’s route tables, which is free', () => {
    const routeTables = Object.keys(template.findResources('AWS::EC2::RouteTable'));
    expect(routeTables).toHaveLength(2);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
      VpcId: { Ref: Match.stringLikeRegexp('NetworkVpc') },
      RouteTableIds: Match.arrayEquals(routeTables.map((id) => ({ Ref: id }))),
    });
  });

  it('adds the gateway endpoint to an existing VPC on the route tables given, and none without them', () => {
    const vpc = { vpcId: 'vpc-0abc1234def567890', subnetIds: 'subnet-0aaa1111bbbb22223' };
    const withTables = synthApp({ ...vpc, routeTableIds: 'rtb-0aaa1111bbbb22223,rtb-0bbb3333cccc44445' });
    withTables.statefulTemplate.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    withTables.statefulTemplate.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      VpcId: 'vpc-0abc1234def567890',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
      RouteTableIds: ['rtb-0aaa1111bbbb22223', 'rtb-0bbb3333cccc44445'],
    });
    // Without route tables the VPC must route DynamoDB already (docs/deploy.md): nothing is created.
    synthApp(vpc).statefulTemplate.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  it('imports an existing VPC by id and places the mount targets in the given subnets', () => {
    const { statefulTemplate } = synthApp({
      vpcId: 'vpc-0abc1234def567890',
      subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
    });
    statefulTemplate.resourceCountIs('AWS::EC2::VPC', 0);
    statefulTemplate.resourceCountIs('AWS::EFS::MountTarget', 2);
    statefulTemplate.hasResourceProperties('AWS::EFS::MountTarget', { SubnetId: 'subnet-0aaa1111bbbb22223' });
    statefulTemplate.hasResourceProperties('AWS::EFS::MountTarget', { SubnetId: 'subnet-0bbb3333cccc44445' });
    statefulTemplate.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0abc1234def567890' });
  });
});
