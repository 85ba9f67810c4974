import { describe, expect, it } from 'vitest';
import { synthApp } from './synth.js';

const { serviceTemplate: template } = synthApp();

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}
type Resource = { Properties: Record<string, unknown> };

const API = 'Sandbox control plane HTTP API';
const TASK_EVENTS = 'Applies ECS task state changes';
const RECONCILER = 'Reconciles sandbox sessions';
const LOGS = 'Reads sandbox logs for the HTTP API';
const STORAGE = 'Chat storage routes (inside the VPC, EFS mounted)';

/** Every statement of the inline policies attached to the role of the function with this description. */
function statementsOf(description: string): Statement[] {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[];
  const fn = functions.find((f) => f.Properties.Description === description);
  if (!fn) throw new Error(`no function described as ${description}`);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
  return policies
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const bySid = (statements: Statement[], sid: string) => {
  const found = statements.filter((s) => s.Sid === sid);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const clusterArn = () => ({
  'Fn::GetAtt': [Object.keys(template.findResources('AWS::ECS::Cluster'))[0]!, 'Arn'],
});
const onCluster = () => ({ ArnEquals: { 'ecs:cluster': clusterArn() } });
/** An ARN as the app renders it: cdk.json's enablePartitionLiterals writes the partition out for a known region. */
const arn = (suffix: string) => `arn:aws${suffix}`;

describe.each([API, RECONCILER])('the %s function', (description) => {
  const statements = statementsOf(description);

  it('has exactly the expected statements and nothing else', () => {
    expect(statements.map((s) => s.Sid ?? [...actions(s)].sort().join(',')).sort()).toEqual(
      [
        'CreateChatAccessPoints',
        'DeleteChatAccessPoints',
        'DeleteChatTaskDefinitions',
        'DescribeAndStopClusterTasks',
        'DescribeChatAccessPoints',
        'InvokeStorageFunction',
        'ListClusterTasks',
        'ManageTaskDefinitions',
        'PassSandboxRoles',
        'ReadChatTaskDefinitionTags',
        'RegisterChatTaskDefinitions',
        'RunChatTasksInCluster',
        'SessionTableItems',
        'TagAccessPointsOnCreate',
        'TagOnCreate',
        'logs:CreateLogStream,logs:PutLogEvents',
        'sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage',
        'xray:PutTelemetryRecords,xray:PutTraceSegments',
      ]
        // The reconciler alone sends failed runs to the queue and asks the storage function to
        // remove purged chats' directories.
        .filter(
          (sid) => description === RECONCILER || !(sid.startsWith('sqs:') || sid === 'InvokeStorageFunction'),
        )
        .sort(),
    );
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('runs tasks only from the per-chat families of this stack, and only in this cluster', () => {
    expect(bySid(statements, 'RunChatTasksInCluster')).toMatchObject({
      Action: 'ecs:RunTask',
      Resource: arn(':ecs:us-east-1:123456789012:task-definition/Test-Service-chat-*'),
      Condition: onCluster(),
    });
  });

  it('describes, stops and lists tasks of this cluster only', () => {
    expect(bySid(statements, 'DescribeAndStopClusterTasks')).toMatchObject({
      Action: ['ecs:DescribeTasks', 'ecs:StopTask'],
      Condition: onCluster(),
    });
    expect(bySid(statements, 'ListClusterTasks')).toMatchObject({
      Action: 'ecs:ListTasks',
      Resource: '*',
      Condition: onCluster(),
    });
  });

  it('reads the tags of per-chat task definitions only', () => {
    expect(bySid(statements, 'ReadChatTaskDefinitionTags')).toMatchObject({
      Action: 'ecs:ListTagsForResource',
      Resource: arn(':ecs:us-east-1:123456789012:task-definition/Test-Service-chat-*'),
    });
  });

  it('deletes only per-chat task definitions, and tags only while creating tasks and definitions', () => {
    expect(bySid(statements, 'DeleteChatTaskDefinitions').Resource).toEqual(
      arn(':ecs:us-east-1:123456789012:task-definition/Test-Service-chat-*'),
    );
    expect(bySid(statements, 'TagOnCreate')).toMatchObject({
      Action: 'ecs:TagResource',
      Condition: { StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] } },
    });
  });

  it('uses a * resource only for the task-definition APIs that support no resource-level permissions', () => {
    const unscoped = statements.filter((s) => s.Resource === '*' && s.Condition === undefined);
    expect(unscoped.flatMap(actions).sort()).toEqual([
      'ecs:DeregisterTaskDefinition',
      'ecs:DescribeTaskDefinition',
      'ecs:ListTaskDefinitions',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('registers task definitions only in the per-chat families of this stack', () => {
    // The Service Authorization Reference gives RegisterTaskDefinition the task-definition resource type.
    expect(bySid(statements, 'RegisterChatTaskDefinitions')).toEqual({
      Sid: 'RegisterChatTaskDefinitions',
      Effect: 'Allow',
      Action: 'ecs:RegisterTaskDefinition',
      Resource: arn(':ecs:us-east-1:123456789012:task-definition/Test-Service-chat-*'),
    });
    const registering = statements.filter((s) => actions(s).includes('ecs:RegisterTaskDefinition'));
    expect(registering).toHaveLength(1);
  });

  it('passes only the sandbox profiles’ roles, and only to ECS tasks', () => {
    const passRole = bySid(statements, 'PassSandboxRoles');
    expect(passRole.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
    const executionRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) =>
      id.includes('ExecutionRole'),
    );
    expect(passRole.Resource).toEqual({ 'Fn::GetAtt': [executionRole, 'Arn'] });
  });

  it('creates and describes access points only on the chat file system, and deletes only its chat access points', () => {
    const fileSystemArn = { 'Fn::ImportValue': expect.stringMatching(/ChatFileSystemArn/) };
    const fileSystemId = { 'Fn::ImportValue': expect.stringMatching(/ChatFileSystem/) };
    expect(bySid(statements, 'CreateChatAccessPoints')).toMatchObject({
      Action: 'elasticfilesystem:CreateAccessPoint',
      Resource: fileSystemArn,
      Condition: {
        Null: { 'aws:RequestTag/sandbox:chat-id': 'false' },
        StringEquals: { 'aws:RequestTag/sandbox:file-system-id': fileSystemId },
      },
    });
    const described = bySid(statements, 'DescribeChatAccessPoints').Resource as unknown[];
    expect(described).toHaveLength(2);
    expect(described).toEqual(
      expect.arrayContaining([
        fileSystemArn,
        arn(':elasticfilesystem:us-east-1:123456789012:access-point/*'),
      ]),
    );
    expect(bySid(statements, 'DeleteChatAccessPoints')).toMatchObject({
      Resource: arn(':elasticfilesystem:us-east-1:123456789012:access-point/*'),
      // This file system's chat access points only: not another deployment's in the same account.
      Condition: {
        Null: { 'aws:ResourceTag/sandbox:chat-id': 'false' },
        StringEquals: { 'aws:ResourceTag/sandbox:file-system-id': fileSystemId },
      },
    });
    expect(bySid(statements, 'TagAccessPointsOnCreate').Condition).toEqual({
      StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' },
    });
  });

  it('reads and writes items of the session table and its two indexes, with only the calls the store makes', () => {
    const table = bySid(statements, 'SessionTableItems');
    // No Scan, BatchWriteItem or DescribeTable: src/adapters/dynamodb calls none of them. A chat's
    // first claim is a transaction with a ConditionCheck of the chat record's purge mark.
    expect([...actions(table)].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    const tableArn = { 'Fn::ImportValue': expect.stringMatching(/SessionTableArn/) };
    const resources = table.Resource as unknown[];
    expect(resources).toHaveLength(3);
    expect(resources).toEqual(
      expect.arrayContaining([
        tableArn,
        { 'Fn::Join': ['', [tableArn, '/index/due']] },
        { 'Fn::Join': ['', [tableArn, '/index/byTenant']] },
      ]),
    );
  });
});

describe('the task-events function', () => {
  const statements = statementsOf(TASK_EVENTS);

  it('can only use the table and describe or stop tasks of this cluster', () => {
    const ecs = statements.filter((s) => actions(s).some((a) => a.startsWith('ecs:')));
    expect(ecs).toEqual([
      expect.objectContaining({ Action: ['ecs:DescribeTasks', 'ecs:StopTask'], Condition: onCluster() }),
    ]);
    const all = statements.flatMap(actions);
    for (const forbidden of [
      'ecs:RunTask',
      'iam:PassRole',
      'ecs:RegisterTaskDefinition',
      'elasticfilesystem:CreateAccessPoint',
    ]) {
      expect(all).not.toContain(forbidden);
    }
    expect(statements.some((s) => s.Sid === 'SessionTableItems')).toBe(true);
  });
});

describe('the logs function', () => {
  const statements = statementsOf(LOGS);

  it('may only read chat items and the streams of the sandbox log groups', () => {
    expect(statements.map((s) => s.Sid ?? [...actions(s)].sort().join(',')).sort()).toEqual([
      'ReadSandboxLogs',
      'SessionTableReads',
      'logs:CreateLogStream,logs:PutLogEvents',
      'xray:PutTelemetryRecords,xray:PutTraceSegments',
    ]);
    expect(bySid(statements, 'SessionTableReads')).toMatchObject({
      Action: 'dynamodb:GetItem',
      Resource: { 'Fn::ImportValue': expect.stringMatching(/SessionTableArn/) },
    });
    const group = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((id) =>
      id.includes('ProfiledefaultLogs'),
    );
    expect(bySid(statements, 'ReadSandboxLogs')).toMatchObject({
      Action: 'logs:GetLogEvents',
      Resource: {
        'Fn::Join': ['', ['arn:aws:logs:us-east-1:123456789012:log-group:', { Ref: group }, ':log-stream:*']],
      },
    });
  });

  it('is the only function that can read the sandbox logs', () => {
    for (const description of [API, TASK_EVENTS, RECONCILER, STORAGE]) {
      expect(statementsOf(description).flatMap(actions)).not.toContain('logs:GetLogEvents');
    }
  });
});

describe('the scheduler', () => {
  it('may invoke only the reconciler function and write to the dead-letter queue', () => {
    const roles = Object.entries(template.findResources('AWS::IAM::Role')) as [string, Resource][];
    const [schedulerRole] =
      roles.find(([, r]) => JSON.stringify(r.Properties).includes('scheduler.amazonaws.com')) ?? [];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
    const statements = policies
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: schedulerRole }]))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    expect(statements.flatMap(actions).sort()).toEqual(['lambda:InvokeFunction', 'sqs:SendMessage']);
    const reconciler = (
      Object.entries(template.findResources('AWS::Lambda::Function')) as [string, Resource][]
    ).find(([, f]) => f.Properties.Description === RECONCILER)?.[0];
    expect(JSON.stringify(statements)).toContain(reconciler);
  });

  it('may be assumed only by EventBridge Scheduler on behalf of this account', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as Resource[];
    const trust = roles
      .map((r) => r.Properties.AssumeRolePolicyDocument as { Statement: Statement[] })
      .flatMap((doc) => doc.Statement)
      .filter((st) => JSON.stringify(st).includes('scheduler.amazonaws.com'));
    expect(trust).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
  });
});
