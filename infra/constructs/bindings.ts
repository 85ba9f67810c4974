import { ArnFormat, Fn, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { TAG_KEYS } from '../../src/adapters/aws-naming.js';
import { DUE_INDEX, TENANT_INDEX } from '../../src/adapters/dynamodb/table-definition.js';
import { ENV } from '../../src/names.js';
import { ChatFileSystem } from './chat-file-system.js';
import type { WildcardResource } from './nag.js';
import type { SandboxCluster } from './sandbox-cluster.js';
import type { FunctionBinding } from './sandbox-function.js';

/**
 * The item calls the DynamoDB adapters make (src/adapters/dynamodb): no Scan, every read is by key or
 * by index; no BatchWriteItem or DescribeTable (local mode only). TransactWriteItems is authorized
 * per item as the action of its part: UpdateItem, PutItem, and ConditionCheckItem for a chat's first
 * claim, which checks the chat record's purge mark.
 */
const SESSION_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];

/** Item access to the session table and its two named indexes, plus the variable that names the table. */
export function sessionTableBinding(table: dynamodb.ITable): FunctionBinding {
  const indexArns = [DUE_INDEX.indexName, TENANT_INDEX.indexName].map(
    (name) => `${table.tableArn}/index/${name}`,
  );
  return {
    environment: { [ENV.tableName]: table.tableName },
    grant: (grantee) =>
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SessionTableItems',
          actions: SESSION_TABLE_ACTIONS,
          resources: [table.tableArn, ...indexArns],
        }),
      ),
  };
}

/**
 * What the storage function's calls need: `GetItem` and `UpdateItem` of the table's items (sessions
 * and chat records read, owners claimed, storage figures and purge marks written); no index, no
 * query, no put or delete.
 */
export function storageTableBinding(table: dynamodb.ITable): FunctionBinding {
  return {
    environment: { [ENV.tableName]: table.tableName },
    grant: (grantee) =>
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'StorageTableItems',
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          resources: [table.tableArn],
        }),
      ),
  };
}

/** Reads of chat items only (`GetItem` on the table), for a function that looks sessions up and writes nothing. */
export function sessionTableReadBinding(table: dynamodb.ITable): FunctionBinding {
  return {
    environment: { [ENV.tableName]: table.tableName },
    grant: (grantee) =>
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SessionTableReads',
          actions: ['dynamodb:GetItem'],
          resources: [table.tableArn],
        }),
      ),
  };
}

/**
 * `logs:GetLogEvents` on the streams of the sandbox profiles' log groups, and the variable that says
 * where each profile's tasks log. Stream names carry the task id, so each group's streams are `*`.
 */
export function sandboxLogsBinding(sandboxes: SandboxCluster): FunctionBinding {
  const stack = Stack.of(sandboxes);
  const streams = sandboxes.cloudWatchProfiles.map((profile) =>
    stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${profile.logGroup.logGroupName}:log-stream:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  );
  return {
    environment: { [ENV.logStreams]: sandboxes.logStreamsJson() },
    grant: (grantee) => {
      // No profile logs to CloudWatch: nothing to read, so no grant at all.
      if (streams.length === 0) return;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSandboxLogs',
          actions: ['logs:GetLogEvents'],
          resources: streams,
        }),
      );
    },
    wildcardResources: streams.map((resource) => ({
      resource,
      reason:
        'Each task logs to its own stream, named after its task id at run time; reads stay within the sandbox log groups.',
    })),
  };
}

/** `PutEvents` on the lifecycle event bus, and the variable that names it. */
export function eventBusBinding(bus: events.IEventBus): FunctionBinding {
  return {
    environment: { [ENV.eventBusName]: bus.eventBusName },
    grant: (grantee) => bus.grantPutEventsTo(grantee),
  };
}

/**
 * `lambda:InvokeFunction` on the storage function, and the variable that names it: the reconciler
 * asks it to remove a purged chat's directory, since only it has the file system mounted.
 */
export function storageFunctionBinding(storage: lambda.IFunction): FunctionBinding {
  return {
    environment: { [ENV.storageFunctionName]: storage.functionName },
    grant: (grantee) =>
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'InvokeStorageFunction',
          actions: ['lambda:InvokeFunction'],
          // The unqualified ARN alone, not grantInvoke's `<arn>:*` too: the reconciler invokes the
          // function by name, never a version or an alias, so no wildcard is needed.
          resources: [storage.functionArn],
        }),
      ),
  };
}

/** Plain configuration: environment variables with no permissions attached. */
export function configBinding(environment: Readonly<Record<string, string>>): FunctionBinding {
  return { environment };
}

export interface SandboxRuntimeBindingProps {
  readonly sandboxes: SandboxCluster;
  readonly storage: ChatFileSystem;
  readonly subnets: readonly ec2.ISubnet[];
  readonly assignPublicIp: boolean;
  /** Prefix of every per-chat task-definition family the runtime registers. */
  readonly taskFamilyPrefix: string;
  /**
   * `manage`: launch, register/retire per-chat task definitions and access points, stop (api, reconciler).
   * `stop`: describe and stop tasks in the cluster only (task-events).
   */
  readonly access: 'manage' | 'stop';
}

/**
 * The ECS/EFS runtime: every variable the ECS adapter reads and the narrowest IAM statements its calls
 * allow. Per-chat families are `<prefix>-<hash>-<chatId>`, so RunTask and DeleteTaskDefinitions are
 * limited to `task-definition/<prefix>-*`, task actions to this cluster, PassRole to the profiles'
 * roles, and access point creation to this file system.
 */
export function sandboxRuntimeBinding(props: SandboxRuntimeBindingProps): FunctionBinding {
  const { sandboxes, storage } = props;
  const cluster = sandboxes.cluster;
  const environment = {
    [ENV.clusterArn]: cluster.clusterArn,
    [ENV.subnetIds]: Fn.join(
      ',',
      props.subnets.map((s) => s.subnetId),
    ),
    [ENV.securityGroupIds]: sandboxes.sandboxSecurityGroup.securityGroupId,
    [ENV.assignPublicIp]: props.assignPublicIp ? 'ENABLED' : 'DISABLED',
    [ENV.fileSystemId]: storage.fileSystem.fileSystemId,
    [ENV.dependenciesAccessPointId]: storage.dependenciesAccessPoint.accessPointId,
    [ENV.toolsAccessPointId]: storage.toolsAccessPoint.accessPointId,
    [ENV.taskFamilyPrefix]: props.taskFamilyPrefix,
    [ENV.profiles]: sandboxes.profilesJson(),
    [ENV.dependenciesMountPath]: sandboxes.sharedMountPaths.dependencies,
    [ENV.toolsMountPath]: sandboxes.sharedMountPaths.tools,
    [ENV.chatUid]: String(storage.posixUser.uid),
    [ENV.chatGid]: String(storage.posixUser.gid),
  };
  const manage = props.access === 'manage';
  const statements = manage ? manageStatements(props) : taskStatements(props);
  const scope = resourceScopes(props);
  const wildcardResources: WildcardResource[] = [
    {
      resource: scope.taskArn,
      reason: 'Task ids are generated by ECS; the ecs:cluster condition pins them to this cluster.',
    },
  ];
  if (manage) {
    wildcardResources.push(
      {
        resource: scope.chatFamilies,
        reason:
          'Per-chat task-definition families are created at runtime; all of them share this stack’s prefix.',
      },
      {
        resource: scope.accessPoints,
        reason:
          'Per-chat access points are created at runtime and their ARNs carry no file system id; deletes ' +
          'require the chat tag.',
      },
      {
        resource: '*',
        reason:
          'DeregisterTaskDefinition, DescribeTaskDefinition and ListTaskDefinitions support no resource-level ' +
          'permissions (Service Authorization Reference, ECS); ListTasks is limited to this cluster by the ecs:cluster condition.',
      },
    );
  }
  return {
    environment,
    grant: (grantee) => {
      for (const statement of statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
    },
    wildcardResources,
  };
}

/**
 * ARN patterns the runtime acts on: tasks of this cluster (`task/<cluster>/*`), the per-chat families
 * (`task-definition/<prefix>-*`) and this account's access points, plus the condition pinning task
 * actions to the cluster.
 */
function resourceScopes(props: SandboxRuntimeBindingProps) {
  const cluster = props.sandboxes.cluster;
  const stack = Stack.of(cluster);
  return {
    taskArn: stack.formatArn({
      service: 'ecs',
      resource: 'task',
      resourceName: `${cluster.clusterName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
    chatFamilies: stack.formatArn({
      service: 'ecs',
      resource: 'task-definition',
      resourceName: `${props.taskFamilyPrefix}-*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
    accessPoints: ChatFileSystem.accessPointArnPattern(cluster),
    onCluster: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
  };
}

function taskStatements(props: SandboxRuntimeBindingProps): iam.PolicyStatement[] {
  const { taskArn, onCluster } = resourceScopes(props);
  return [
    new iam.PolicyStatement({
      sid: 'DescribeAndStopClusterTasks',
      actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
      resources: [taskArn],
      conditions: onCluster,
    }),
  ];
}

function manageStatements(props: SandboxRuntimeBindingProps): iam.PolicyStatement[] {
  const { sandboxes, storage } = props;
  const { taskArn, chatFamilies, accessPoints, onCluster } = resourceScopes(props);
  return [
    ...taskStatements(props),
    new iam.PolicyStatement({
      sid: 'ListClusterTasks',
      actions: ['ecs:ListTasks'],
      // ListTasks is authorized on container instances, not tasks; the condition pins it to the cluster.
      resources: ['*'],
      conditions: onCluster,
    }),
    new iam.PolicyStatement({
      sid: 'RunChatTasksInCluster',
      actions: ['ecs:RunTask'],
      resources: [chatFamilies],
      conditions: onCluster,
    }),
    new iam.PolicyStatement({
      sid: 'DeleteChatTaskDefinitions',
      actions: ['ecs:DeleteTaskDefinitions'],
      resources: [chatFamilies],
    }),
    new iam.PolicyStatement({
      sid: 'RegisterChatTaskDefinitions',
      // The Service Authorization Reference lists `task-definition*` as the resource type of
      // RegisterTaskDefinition (docs.aws.amazon.com/service-authorization/latest/reference/
      // list_amazonelasticcontainerservice.html), so a revision can be registered in this stack's
      // per-chat families only, never in another family of the account.
      actions: ['ecs:RegisterTaskDefinition'],
      resources: [chatFamilies],
    }),
    new iam.PolicyStatement({
      sid: 'ManageTaskDefinitions',
      // The same reference lists no resource type for these, so they take `*`. ListTaskDefinitions
      // finds the revisions of a chat's family that a launch registered and never recorded
      // (idempotent registration); DescribeTaskDefinition also reads the profiles' base definitions.
      actions: ['ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ReadChatTaskDefinitionTags',
      // DescribeTaskDefinition with include TAGS reads the revision's tags (profile, fingerprint).
      actions: ['ecs:ListTagsForResource'],
      resources: [chatFamilies],
    }),
    new iam.PolicyStatement({
      sid: 'TagOnCreate',
      actions: ['ecs:TagResource'],
      resources: [chatFamilies, taskArn],
      conditions: { StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] } },
    }),
    new iam.PolicyStatement({
      sid: 'PassSandboxRoles',
      // Only the profiles' execution roles (and task roles, where a profile has one), and only to ECS
      // tasks: `iam:PassedToService` is the service the role is handed to.
      actions: ['iam:PassRole'],
      resources: sandboxes.passRoles.map((role) => role.roleArn),
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'CreateChatAccessPoints',
      actions: ['elasticfilesystem:CreateAccessPoint'],
      resources: [storage.fileSystem.fileSystemArn],
      conditions: {
        Null: { [`aws:RequestTag/${TAG_KEYS.chatId}`]: 'false' },
        StringEquals: { [`aws:RequestTag/${TAG_KEYS.fileSystemId}`]: storage.fileSystem.fileSystemId },
      },
    }),
    new iam.PolicyStatement({
      sid: 'DescribeChatAccessPoints',
      actions: ['elasticfilesystem:DescribeAccessPoints'],
      resources: [storage.fileSystem.fileSystemArn, accessPoints],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteChatAccessPoints',
      // Access point ARNs carry no file system id: the tag the runtime sets at creation binds deletes
      // to chat access points of this file system, not another deployment's in the same account.
      actions: ['elasticfilesystem:DeleteAccessPoint'],
      resources: [accessPoints],
      conditions: {
        Null: { [`aws:ResourceTag/${TAG_KEYS.chatId}`]: 'false' },
        StringEquals: { [`aws:ResourceTag/${TAG_KEYS.fileSystemId}`]: storage.fileSystem.fileSystemId },
      },
    }),
    new iam.PolicyStatement({
      sid: 'TagAccessPointsOnCreate',
      actions: ['elasticfilesystem:TagResource'],
      resources: [accessPoints],
      conditions: { StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' } },
    }),
  ];
}
