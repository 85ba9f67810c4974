/**
 * The storage function: inside the VPC with the chats mounted through their access point, reaching
 * only the file system and DynamoDB, serving exactly the storage routes, and invoked by nobody but
 * API Gateway and the reconciler.
 */
import { type CfnElement, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PURGE_SETTLE_MS } from '../../src/core/chat-purge.js';
import {
  ENV,
  STORAGE_FUNCTION_TIMEOUT_SECONDS,
  STORAGE_MOUNT_PATH,
  STORAGE_ROUTE_KEYS,
} from '../../src/names.js';
import { synthApp } from './synth.js';
import {
  API_FUNCTION,
  LOGS_FUNCTION,
  RECONCILER_FUNCTION,
  type Resource,
  STORAGE_FUNCTION,
  STORAGE_SG,
  TASK_EVENTS_FUNCTION,
  TOKEN_HASH,
  templateQueries,
} from './template-queries.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

const synthesized = synthApp();
const template = synthesized.serviceTemplate;
const { resources, functionId, securityGroupId } = templateQueries(template);
const storageId = functionId(STORAGE_FUNCTION);
const storageArn = { 'Fn::GetAtt': [storageId, 'Arn'] };

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const propertiesOf = (description: string) =>
  resources('AWS::Lambda::Function').find(([, fn]) => fn.Properties.Description === description)![1]
    .Properties;
const variablesOf = (properties: Record<string, unknown>) =>
  (properties.Environment as { Variables: Record<string, unknown> }).Variables;

/** Every statement of the inline policies on the role of the function with this description. */
function statementsOf(description: string): Statement[] {
  const roleId = (propertiesOf(description).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** The route keys the storage function serves: each storage route, and HEAD beside each GET. */
const STORAGE_ROUTES = STORAGE_ROUTE_KEYS.flatMap(({ method, path }) =>
  method === 'get' ? [`GET ${path}`, `HEAD ${path}`] : [`${method.toUpperCase()} ${path}`],
);

describe('the storage function', () => {
  const properties = propertiesOf(STORAGE_FUNCTION);

  it('runs Node.js 22 on arm64 with tracing and 1024 MB, from functions/storage.ts’ handler', () => {
    expect(properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 1024,
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/^StorageFunctionLogs/) } },
    });
  });

  it('ends every request before a purge that started after it removes the chat’s directory', () => {
    expect(properties.Timeout).toBe(STORAGE_FUNCTION_TIMEOUT_SECONDS);
    expect(STORAGE_FUNCTION_TIMEOUT_SECONDS * 1000).toBeLessThan(PURGE_SETTLE_MS);
  });

  it('runs in the sandbox subnets, with a security group of its own', () => {
    // The subnets the api function launches sandboxes into (SANDBOX_SUBNET_IDS).
    const sandboxSubnets = (
      variablesOf(propertiesOf(API_FUNCTION))[ENV.subnetIds] as { 'Fn::Join': unknown[] }
    )['Fn::Join'][1];
    expect(properties.VpcConfig).toEqual({
      SubnetIds: sandboxSubnets,
      SecurityGroupIds: [{ 'Fn::GetAtt': [securityGroupId(STORAGE_SG), 'GroupId'] }],
    });
    // No other function is in the VPC.
    const inVpc = resources('AWS::Lambda::Function').filter(([, fn]) => fn.Properties.VpcConfig);
    expect(inVpc.map(([id]) => id)).toEqual([storageId]);
  });

  it('takes the subnets of an existing VPC', () => {
    const { serviceTemplate } = synthApp({
      vpcId: 'vpc-0abc1234def567890',
      subnetIds: 'subnet-0aaa1111bbbb22223,subnet-0bbb3333cccc44445',
      assignPublicIp: 'false',
    });
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: STORAGE_FUNCTION,
      VpcConfig: { SubnetIds: ['subnet-0aaa1111bbbb22223', 'subnet-0bbb3333cccc44445'] },
    });
  });

  it('mounts the chats access point of the file system at /mnt/chats, and nothing else', () => {
    expect(properties.FileSystemConfigs).toEqual([
      {
        Arn: {
          'Fn::Join': [
            '',
            [
              'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/',
              { 'Fn::ImportValue': expect.stringMatching(/ChatsAccessPoint/) },
            ],
          ],
        },
        LocalMountPath: STORAGE_MOUNT_PATH,
      },
    ]);
    expect(STORAGE_MOUNT_PATH).toBe('/mnt/chats');
  });

  it('is told where the chats are, the table, the auth settings and the lifecycle, and no runtime', () => {
    const variables = variablesOf(properties);
    expect(variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.tableName]: { 'Fn::ImportValue': expect.stringMatching(/SessionTable/) },
      [ENV.chatsRoot]: STORAGE_MOUNT_PATH,
      // The lifecycle the other API functions get (the default profile has a health check).
      [ENV.healthCheckedProfiles]: 'default',
      [ENV.metricsNamespace]: 'AgentSandbox',
      [ENV.authMode]: 'iam',
    });
    // Its own default, the most Lambda's payload limit lets through.
    expect(variables).not.toHaveProperty(ENV.maxFileBytes);
  });

  it('gets the token hashes in token mode, like the api function', () => {
    const { serviceTemplate } = synthApp({
      authMode: 'token',
      apiTokenHashes: JSON.stringify({ [TOKEN_HASH]: 'tenant-a' }),
    });
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: STORAGE_FUNCTION,
      Environment: {
        Variables: Match.objectLike({
          [ENV.authMode]: 'token',
          [ENV.apiTokens]: `{"${TOKEN_HASH}":"tenant-a"}`,
        }),
      },
    });
  });

  it('passes the owners’ storage quota to the storage and api functions only, when it is set', () => {
    const { serviceTemplate } = synthApp({ ownerStorageBytes: '5368709120' });
    const withQuota = templateQueries(serviceTemplate)
      .resources('AWS::Lambda::Function')
      .filter(([, fn]) => variablesOf(fn.Properties)[ENV.ownerStorageBytes] !== undefined)
      .map(([, fn]) => [fn.Properties.Description, variablesOf(fn.Properties)[ENV.ownerStorageBytes]]);
    expect(withQuota.sort()).toEqual(
      [
        [API_FUNCTION, '5368709120'],
        [STORAGE_FUNCTION, '5368709120'],
      ].sort(),
    );
    for (const [, fn] of resources('AWS::Lambda::Function')) {
      expect(variablesOf(fn.Properties)).not.toHaveProperty(ENV.ownerStorageBytes);
    }
  });
});

describe('the storage function’s network', () => {
  const groupId = securityGroupId(STORAGE_SG);
  const onGroup = (type: string, key: 'GroupId' | 'SourceSecurityGroupId') =>
    resources(type).filter(
      ([, rule]) =>
        JSON.stringify(rule.Properties[key]) === JSON.stringify({ 'Fn::GetAtt': [groupId, 'GroupId'] }),
    );

  it('may send only NFS to the mount targets and HTTPS out, and accepts nothing', () => {
    const group = resources('AWS::EC2::SecurityGroup').find(([id]) => id === groupId)![1];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: expect.any(String) },
    ]);
    expect(onGroup('AWS::EC2::SecurityGroupEgress', 'GroupId').map(([, rule]) => rule.Properties)).toEqual([
      {
        Description: 'NFS to the chat file system',
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
        DestinationSecurityGroupId: { 'Fn::ImportValue': expect.stringMatching(/MountTargetSecurityGroup/) },
      },
    ]);
    expect(onGroup('AWS::EC2::SecurityGroupIngress', 'GroupId')).toEqual([]);
  });

  it('is admitted to the mount targets for NFS by a rule of this stack (no reference back from the stateful stack)', () => {
    expect(
      onGroup('AWS::EC2::SecurityGroupIngress', 'SourceSecurityGroupId').map(([, rule]) => rule.Properties),
    ).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 2049,
        ToPort: 2049,
        GroupId: { 'Fn::ImportValue': expect.stringMatching(/MountTargetSecurityGroup/) },
      }),
    ]);
    expect(JSON.stringify(synthesized.statefulTemplate.toJSON())).not.toContain('Test-Service');
  });
});

describe('the storage function’s role', () => {
  const statements = statementsOf(STORAGE_FUNCTION);
  const all = statements.flatMap(actions);
  const bySid = (sid: string) => statements.find((s) => s.Sid === sid)!;

  it('has exactly its log group, the ENI actions, the mount, X-Ray and the session table', () => {
    expect(statements.map((s) => s.Sid ?? [...actions(s)].sort().join(',')).sort()).toEqual([
      'StorageTableItems',
      'VpcNetworkInterfaces',
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientWrite',
      'logs:CreateLogStream,logs:PutLogEvents',
      'xray:PutTelemetryRecords,xray:PutTraceSegments',
    ]);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    expect(statements.find((s) => actions(s).includes('logs:PutLogEvents'))!.Resource).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^StorageFunctionLogs/), 'Arn'],
    });
  });

  it('may only get and update items of the session table: no index, query, put or delete', () => {
    const dynamodb = statements.filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamodb.map((s) => s.Sid)).toEqual(['StorageTableItems']);
    expect([...actions(bySid('StorageTableItems'))].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
    expect(bySid('StorageTableItems').Resource).toEqual({
      'Fn::ImportValue': expect.stringMatching(/SessionTableArn/),
    });
  });

  it('has the ENI actions Lambda needs for the VPC inline, and no AWS managed policy', () => {
    expect(bySid('VpcNetworkInterfaces')).toEqual({
      Sid: 'VpcNetworkInterfaces',
      Effect: 'Allow',
      Action: [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: '*',
    });
    const roleId = (properties().Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = resources('AWS::IAM::Role').find(([id]) => id === roleId)![1];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    // Lambda checks the ENI permissions when it creates the function, so the policy comes first.
    expect(template.toJSON().Resources[storageId].DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^StorageFunctionRoleDefaultPolicy/)]),
    );
  });

  it('mounts only through the chats access point and writes only to the chat file system', () => {
    const mount = statements.find((s) => actions(s).includes('elasticfilesystem:ClientMount'))!;
    expect(mount).toMatchObject({
      Resource: '*',
      Condition: {
        StringEquals: {
          'elasticfilesystem:AccessPointArn': (properties().FileSystemConfigs as { Arn: unknown }[])[0]!.Arn,
        },
      },
    });
    const write = statements.find((s) => actions(s).includes('elasticfilesystem:ClientWrite'))!;
    expect(write.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/',
          { 'Fn::ImportValue': expect.stringMatching(/ChatFileSystem/) },
        ],
      ],
    });
  });

  it('can start no sandbox, manage no access point, invoke no function and read no sandbox log', () => {
    expect(
      all.filter((a) => a.startsWith('ecs:') || a.startsWith('lambda:') || a.startsWith('iam:')),
    ).toEqual([]);
    for (const forbidden of [
      'elasticfilesystem:CreateAccessPoint',
      'elasticfilesystem:DeleteAccessPoint',
      'elasticfilesystem:ClientRootAccess',
      'logs:GetLogEvents',
    ]) {
      expect(all).not.toContain(forbidden);
    }
  });

  it('acknowledges its * resources with a reason that names each of them', () => {
    const reasons = synthesized.service.functions.storage.role.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      // Recorded as `Annotation::<rule id>`, as the cdk-nag test reads them too.
      .filter(([id]) => id.replace(/^annotation::/i, '') === 'AwsSolutions-IAM5[Resource::*]')
      .map(([, reason]) => reason);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/X-Ray/);
    expect(reasons[0]).toMatch(/ENI/);
    expect(reasons[0]).toMatch(/ClientMount/);
  });

  function properties() {
    return propertiesOf(STORAGE_FUNCTION);
  }
});

describe('the storage routes', () => {
  const integrationId = resources('AWS::ApiGatewayV2::Integration').find(
    ([, integration]) => JSON.stringify(integration.Properties.IntegrationUri) === JSON.stringify(storageArn),
  )![0];
  const routes = resources('AWS::ApiGatewayV2::Route');
  const target = { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] };

  it('sends each storage route, and HEAD beside each GET, to the storage function and nothing else', () => {
    const toStorage = routes
      .filter(([, route]) => JSON.stringify(route.Properties.Target) === JSON.stringify(target))
      .map(([, route]) => route.Properties.RouteKey as string);
    expect(toStorage.sort()).toEqual([...STORAGE_ROUTES].sort());
  });

  it.each([
    ['IAM', {}],
    ['token', { authMode: 'token', apiTokenHashes: JSON.stringify({ [TOKEN_HASH]: 'tenant-a' }) }],
  ])('authorizes them as every other route in %s mode', (_mode, context) => {
    const queried = templateQueries(synthApp(context).serviceTemplate);
    const byKey = new Map(
      queried.resources('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties]),
    );
    const proxy = byKey.get('ANY /{proxy+}')!;
    for (const key of STORAGE_ROUTES) {
      expect(byKey.get(key)?.AuthorizationType, key).toBe(proxy.AuthorizationType);
    }
  });

  it('leaves every other method on those paths to /{proxy+} and the api function (which answers 405)', () => {
    const paths = new Set(STORAGE_ROUTE_KEYS.map((key) => key.path as string));
    const onPaths = routes
      .map(([, route]) => route.Properties.RouteKey as string)
      .filter((key) => paths.has(key.split(' ')[1]!));
    expect(onPaths.sort()).toEqual([...STORAGE_ROUTES].sort());
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /{proxy+}' });
  });

  it('lets API Gateway invoke the function for those routes only', () => {
    const permissions = resources('AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(storageArn),
    );
    expect(permissions).toHaveLength(STORAGE_ROUTES.length);
    for (const [, permission] of permissions) {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: {
          'Fn::Join': [
            '',
            [
              'arn:aws:execute-api:us-east-1:123456789012:',
              { Ref: expect.stringMatching(/^ApiHttpApi/) },
              expect.any(String),
            ],
          ],
        },
      });
    }
    const sources = permissions.map(
      ([, p]) => (p.Properties.SourceArn as { 'Fn::Join': [string, string[]] })['Fn::Join'][1][2],
    );
    expect(new Set(sources)).toEqual(new Set(STORAGE_ROUTE_KEYS.map((key) => `/*/*${key.path}`)));
  });
});

describe('who else may invoke the storage function', () => {
  it('the reconciler only, by name, on the function itself (no version or alias)', () => {
    const reconciler = statementsOf(RECONCILER_FUNCTION);
    expect(reconciler.filter((s) => actions(s).some((a) => a.startsWith('lambda:')))).toEqual([
      {
        Sid: 'InvokeStorageFunction',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: storageArn,
      },
    ]);
    expect(variablesOf(propertiesOf(RECONCILER_FUNCTION))[ENV.storageFunctionName]).toEqual({
      Ref: storageId,
    });
    for (const description of [API_FUNCTION, TASK_EVENTS_FUNCTION, LOGS_FUNCTION, STORAGE_FUNCTION]) {
      expect(variablesOf(propertiesOf(description))).not.toHaveProperty(ENV.storageFunctionName);
    }
  });

  it('no other policy of the stack names it', () => {
    const naming = [...resources('AWS::IAM::Policy'), ...resources('AWS::IAM::ManagedPolicy')].filter(
      ([, p]: [string, Resource]) => JSON.stringify(p.Properties.PolicyDocument).includes(storageId),
    );
    const reconcilerRole = (propertiesOf(RECONCILER_FUNCTION).Role as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ][0];
    expect(naming.map(([, p]) => p.Properties.Roles)).toEqual([[{ Ref: reconcilerRole }]]);
  });
});

describe('the storage function in operations', () => {
  it('has its log group in an output', () => {
    const logGroup = synthesized.service.functions.storage.logGroup;
    const id = synthesized.service.getLogicalId(logGroup.node.defaultChild as CfnElement);
    template.hasOutput('StorageFunctionLogGroup', { Value: { Ref: id } });
  });

  it('is on the dashboard with the other functions', () => {
    const [, dashboard] = resources('AWS::CloudWatch::Dashboard')[0]!;
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain(JSON.stringify({ Ref: storageId }));
  });
});
