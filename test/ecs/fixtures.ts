/**
 * ECS and EFS responses shaped as the API references and the ECS developer guide show them, plus the
 * runtime settings the tests use. Shared by the adapter tests and the function tests.
 */
import {
  DeregisterTaskDefinitionCommand,
  type DeregisterTaskDefinitionCommandInput,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandInput,
  type DescribeTaskDefinitionCommandOutput,
  type ECSClient,
  ListTaskDefinitionsCommand,
  type ListTaskDefinitionsCommandInput,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  type RunTaskCommandInput,
  type Tag,
  type Task,
  type TaskStopCode,
} from '@aws-sdk/client-ecs';
import {
  CreateAccessPointCommand,
  type CreateAccessPointCommandOutput,
  DescribeAccessPointsCommand,
  type EFSClient,
} from '@aws-sdk/client-efs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { DEFAULT_MOUNT_PATHS, type EcsRuntimeSettings } from '../../src/adapters/ecs/settings.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-west-2';
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/sandboxes`;
export const BASE_TASK_DEFINITION_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sandbox-default:7`;
export const FILE_SYSTEM_ID = 'fs-0123456789abcdef0';
export const DEPENDENCIES_ACCESS_POINT_ID = 'fsap-0aaaaaaaaaaaaaaa1';
export const TOOLS_ACCESS_POINT_ID = 'fsap-0bbbbbbbbbbbbbbb2';
export const CHAT_ACCESS_POINT_ID = 'fsap-0ccccccccccccccc3';
export const FAMILY_PREFIX = 'sbx-chat';

export const SETTINGS: EcsRuntimeSettings = {
  clusterArn: CLUSTER_ARN,
  subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
  securityGroupIds: ['sg-0123abcd'],
  assignPublicIp: 'DISABLED',
  fileSystemId: FILE_SYSTEM_ID,
  dependenciesAccessPointId: DEPENDENCIES_ACCESS_POINT_ID,
  toolsAccessPointId: TOOLS_ACCESS_POINT_ID,
  taskFamilyPrefix: FAMILY_PREFIX,
  profiles: {
    default: { taskDefinitionArn: BASE_TASK_DEFINITION_ARN, containerName: 'sandbox', port: 8000 },
  },
  mountPaths: DEFAULT_MOUNT_PATHS,
  chatOwner: { uid: 1000, gid: 1000 },
  volumeRetireAfterDays: 30,
};

export function taskArn(id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/sandboxes/${id}`;
}

export function chatTaskDefinitionArn(family: string, revision = 1): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
}

/** DescribeTaskDefinition of the profile's base definition, as the CDK stack registers it. */
export function baseTaskDefinition(): DescribeTaskDefinitionCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    taskDefinition: {
      taskDefinitionArn: BASE_TASK_DEFINITION_ARN,
      family: 'sandbox-default',
      revision: 7,
      status: 'ACTIVE',
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/sandbox-execution`,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      compatibilities: ['EC2', 'FARGATE'],
      cpu: '1024',
      memory: '2048',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
      registeredAt: new Date('2026-11-01T00:00:00Z'),
      registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/cdk-deploy/session`,
      volumes: [
        {
          name: 'dependencies',
          efsVolumeConfiguration: {
            fileSystemId: FILE_SYSTEM_ID,
            transitEncryption: 'ENABLED',
            authorizationConfig: { accessPointId: DEPENDENCIES_ACCESS_POINT_ID, iam: 'DISABLED' },
          },
        },
        {
          name: 'tools',
          efsVolumeConfiguration: {
            fileSystemId: FILE_SYSTEM_ID,
            transitEncryption: 'ENABLED',
            authorizationConfig: { accessPointId: TOOLS_ACCESS_POINT_ID, iam: 'DISABLED' },
          },
        },
      ],
      containerDefinitions: [
        {
          name: 'sandbox',
          image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/agent-sandbox:1.4.2`,
          cpu: 0,
          essential: true,
          portMappings: [{ containerPort: 8000, hostPort: 8000, protocol: 'tcp' }],
          environment: [],
          mountPoints: [
            { sourceVolume: 'dependencies', containerPath: '/opt/dependencies', readOnly: true },
            { sourceVolume: 'tools', containerPath: '/opt/lambda-tools', readOnly: true },
          ],
          volumesFrom: [],
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': '/sandbox/default',
              'awslogs-region': REGION,
              'awslogs-stream-prefix': 'default',
            },
          },
        },
      ],
    },
  };
}

/** CreateAccessPoint's answer: a new access point is `creating` at first. */
export function createdAccessPoint(
  id = CHAT_ACCESS_POINT_ID,
  state: 'creating' | 'available' = 'creating',
): CreateAccessPointCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    AccessPointId: id,
    AccessPointArn: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:access-point/${id}`,
    FileSystemId: FILE_SYSTEM_ID,
    OwnerId: ACCOUNT,
    LifeCycleState: state,
  };
}

/** A Fargate task as DescribeTasks and RunTask describe it. */
export function fargateTask(options: {
  arn: string;
  startedBy: string;
  lastStatus: string;
  desiredStatus?: string;
  privateIp?: string;
  stoppedReason?: string;
  stopCode?: TaskStopCode;
  createdAt?: Date;
  healthStatus?: Task['healthStatus'];
}): Task {
  const details = [
    { name: 'subnetId', value: 'subnet-0a1b2c3d' },
    { name: 'networkInterfaceId', value: 'eni-0f1e2d3c4b5a69788' },
    { name: 'macAddress', value: '0a:98:eb:a7:29:ba' },
    { name: 'privateDnsName', value: 'ip-10-0-12-34.us-west-2.compute.internal' },
    ...(options.privateIp ? [{ name: 'privateIPv4Address', value: options.privateIp }] : []),
  ];
  return {
    taskArn: options.arn,
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: chatTaskDefinitionArn(`${FAMILY_PREFIX}-0123456789abcdef-chat`),
    lastStatus: options.lastStatus,
    desiredStatus: options.desiredStatus ?? (options.lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING'),
    launchType: 'FARGATE',
    platformVersion: '1.4.0',
    cpu: '1024',
    memory: '2048',
    group: `family:${FAMILY_PREFIX}-0123456789abcdef-chat`,
    startedBy: options.startedBy,
    ...(options.healthStatus ? { healthStatus: options.healthStatus } : {}),
    createdAt: options.createdAt ?? new Date('2026-11-22T00:00:00Z'),
    version: 1,
    attachments: [
      {
        id: '1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8',
        type: 'ElasticNetworkInterface',
        status: 'ATTACHED',
        details,
      },
    ],
    containers: [{ name: 'sandbox', lastStatus: options.lastStatus, taskArn: options.arn }],
    ...(options.stoppedReason ? { stoppedReason: options.stoppedReason } : {}),
    ...(options.stopCode ? { stopCode: options.stopCode } : {}),
  };
}

/** EFS and ECS answers for a chat's first sandbox: a new access point and a registered definition. */
export function acceptVolumeCreation(ecs: AwsClientStub<ECSClient>, efs: AwsClientStub<EFSClient>): void {
  efs.on(CreateAccessPointCommand).resolves(createdAccessPoint());
  efs.on(DescribeAccessPointsCommand).resolves({
    AccessPoints: [{ AccessPointId: CHAT_ACCESS_POINT_ID, LifeCycleState: 'available' }],
  });
  new TaskDefinitionRegistry().serve(ecs);
}

interface Revision {
  readonly arn: string;
  readonly family: string;
  readonly tags: readonly Tag[];
  status: 'ACTIVE' | 'INACTIVE';
}

/**
 * ECS's task definitions as the calls see them (shapes of the API reference): RegisterTaskDefinition
 * adds a revision to its family with its tags, ListTaskDefinitions answers a family prefix's ACTIVE
 * revisions, DescribeTaskDefinition answers the base definition or a revision with its tags,
 * DeregisterTaskDefinition makes one INACTIVE.
 */
export class TaskDefinitionRegistry {
  readonly revisions: Revision[] = [];

  register(family: string, tags: readonly Tag[]): string {
    const revision = this.revisions.filter((candidate) => candidate.family === family).length + 1;
    const arn = chatTaskDefinitionArn(family, revision);
    this.revisions.push({ arn, family, tags, status: 'ACTIVE' });
    return arn;
  }

  active(): string[] {
    return this.revisions.filter((revision) => revision.status === 'ACTIVE').map((revision) => revision.arn);
  }

  serve(ecs: AwsClientStub<ECSClient>): this {
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) => ({
      taskDefinition: { taskDefinitionArn: this.register(input.family!, input.tags ?? []), status: 'ACTIVE' },
    }));
    ecs.on(ListTaskDefinitionsCommand).callsFake((input: ListTaskDefinitionsCommandInput) => ({
      taskDefinitionArns: this.revisions
        .filter(
          (revision) => revision.family.startsWith(input.familyPrefix ?? '') && revision.status === 'ACTIVE',
        )
        .map((revision) => revision.arn),
    }));
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: DescribeTaskDefinitionCommandInput) => {
      if (input.taskDefinition === BASE_TASK_DEFINITION_ARN) return baseTaskDefinition();
      const revision = this.revisions.find((candidate) => candidate.arn === input.taskDefinition);
      if (!revision)
        throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
      return {
        taskDefinition: { taskDefinitionArn: revision.arn, family: revision.family, status: revision.status },
        ...(input.include?.includes('TAGS') ? { tags: [...revision.tags] } : {}),
      };
    });
    ecs.on(DeregisterTaskDefinitionCommand).callsFake((input: DeregisterTaskDefinitionCommandInput) => {
      const revision = this.revisions.find((candidate) => candidate.arn === input.taskDefinition);
      if (revision) revision.status = 'INACTIVE';
      return { taskDefinition: { taskDefinitionArn: input.taskDefinition, status: 'INACTIVE' } };
    });
    return this;
  }
}

/** RunTask answers a new task for every launch, keyed by its client token, in `lastStatus`. */
export function acceptRunTask(ecs: AwsClientStub<ECSClient>, lastStatus = 'PROVISIONING'): void {
  ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => ({
    tasks: [fargateTask({ arn: taskArn(input.clientToken!), startedBy: input.startedBy!, lastStatus })],
    failures: [],
  }));
}
