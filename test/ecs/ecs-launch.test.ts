import {
  ClientException,
  ConflictException,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ECSServiceException,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  AccessPointAlreadyExists,
  CreateAccessPointCommand,
  DescribeAccessPointsCommand,
  EFSClient,
} from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tenantHash } from '../../src/adapters/aws-naming.js';
import { DynamoVolumeStore } from '../../src/adapters/dynamodb/volume-store.js';
import type { EcsRuntimeSettings } from '../../src/adapters/ecs/settings.js';
import { definitionFingerprint } from '../../src/adapters/ecs/task-definition.js';
import { LaunchError } from '../../src/core/errors.js';
import { createTestTable } from '../support/dynamo.js';
import {
  acceptRunTask,
  acceptVolumeCreation,
  baseTaskDefinition,
  CHAT_ACCESS_POINT_ID,
  CLUSTER_ARN,
  chatTaskDefinitionArn,
  fargateTask,
  SETTINGS,
  TaskDefinitionRegistry,
  taskArn,
} from './fixtures.js';
import {
  CHAT,
  FAMILY,
  freshSpec,
  runtimeWith as runtimeOver,
  SESSION,
  SPEC,
  STARTED_BY,
  TENANT,
} from './runtime-setup.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);
let volumeStore: DynamoVolumeStore;

beforeAll(async () => {
  const table = await createTestTable();
  volumeStore = new DynamoVolumeStore(table.client, table.tableName);
});

beforeEach(() => {
  ecsMock.reset();
  efsMock.reset();
});

const runtimeWith = (settings?: EcsRuntimeSettings) => runtimeOver(volumeStore, settings);
const acceptFirstLaunch = () => acceptVolumeCreation(ecsMock, efsMock);

describe('EcsSandboxRuntime.launch', () => {
  it('creates the chat access point and task definition, then runs the task with the session as token', async () => {
    acceptFirstLaunch();
    ecsMock.on(RunTaskCommand).resolves({
      tasks: [fargateTask({ arn: taskArn('a1'), startedBy: STARTED_BY, lastStatus: 'PROVISIONING' })],
      failures: [],
    });

    const result = await runtimeWith().launch(SPEC);

    expect(result).toEqual({ ref: taskArn('a1') });
    const accessPoint = efsMock.commandCalls(CreateAccessPointCommand)[0]!.args[0].input;
    expect(accessPoint.FileSystemId).toBe(SETTINGS.fileSystemId);
    expect(accessPoint.ClientToken).toBe(`${SESSION}.0`);
    expect(accessPoint.PosixUser).toEqual({ Uid: 1000, Gid: 1000 });
    // The file system's id as a tag: IAM binds deletes to this file system's access points by it.
    expect(accessPoint.Tags).toContainEqual({ Key: 'sandbox:file-system-id', Value: SETTINGS.fileSystemId });
    expect(accessPoint.RootDirectory).toEqual({
      Path: `/chats/${tenantHash(TENANT)}/${CHAT}`,
      CreationInfo: { OwnerUid: 1000, OwnerGid: 1000, Permissions: '750' },
    });

    const registered = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    expect(registered.family).toBe(FAMILY);
    expect(registered.volumes?.find((volume) => volume.name === 'chat')?.efsVolumeConfiguration).toEqual({
      fileSystemId: SETTINGS.fileSystemId,
      rootDirectory: '/',
      transitEncryption: 'ENABLED',
      authorizationConfig: { accessPointId: CHAT_ACCESS_POINT_ID, iam: 'DISABLED' },
    });

    const run = ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input;
    expect(run).toMatchObject({
      cluster: CLUSTER_ARN,
      taskDefinition: chatTaskDefinitionArn(FAMILY),
      launchType: 'FARGATE',
      count: 1,
      clientToken: SESSION,
      startedBy: STARTED_BY,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: SETTINGS.subnetIds,
          securityGroups: SETTINGS.securityGroupIds,
          assignPublicIp: 'DISABLED',
        },
      },
    });
    expect(run.startedBy!.length).toBeLessThanOrEqual(128);
    expect(run.overrides?.containerOverrides?.[0]).toEqual({
      name: 'sandbox',
      environment: [
        { name: 'TEAM', value: 'search' },
        { name: 'AGENT_ID', value: 'agent-alpha' },
        { name: 'CHAT_ID', value: CHAT },
        { name: 'SESSION_ID', value: SESSION },
        { name: 'HOST', value: '0.0.0.0' },
        { name: 'PORT', value: '8000' },
        { name: 'CHAT_DIR', value: SETTINGS.mountPaths.chat },
        { name: 'DEPENDENCIES_DIR', value: SETTINGS.mountPaths.dependencies },
        { name: 'TOOLS_DIR', value: SETTINGS.mountPaths.tools },
      ],
    });
    expect(run.tags).toEqual(
      expect.arrayContaining([
        { key: 'sandbox:tenant', value: TENANT },
        { key: 'sandbox:chat-id', value: CHAT },
        { key: 'sandbox:session-id', value: SESSION },
      ]),
    );
  });

  it("reuses the chat's access point and task definition on the chat's next sandbox", async () => {
    const spec = freshSpec();
    acceptFirstLaunch();
    ecsMock
      .on(RunTaskCommand)
      .resolves({ tasks: [fargateTask({ arn: taskArn('b1'), startedBy: 'x', lastStatus: 'PROVISIONING' })] });
    const runtime = runtimeWith();
    await runtime.launch(spec);
    await runtime.launch({ ...spec, sessionId: crypto.randomUUID() });

    expect(efsMock.commandCalls(CreateAccessPointCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(2);
  });

  it('registers the task definition again when the profile changes, and deregisters the old one', async () => {
    const spec = freshSpec();
    const registry = new TaskDefinitionRegistry();
    acceptFirstLaunch();
    registry.serve(ecsMock);
    ecsMock
      .on(RunTaskCommand)
      .resolves({ tasks: [fargateTask({ arn: taskArn('c1'), startedBy: 'x', lastStatus: 'PENDING' })] });
    await runtimeWith().launch(spec);
    const newBase = 'arn:aws:ecs:us-west-2:111122223333:task-definition/sandbox-default:8';
    const changed = {
      ...SETTINGS,
      profiles: { default: { ...SETTINGS.profiles.default!, taskDefinitionArn: newBase } },
    };
    ecsMock.on(DescribeTaskDefinitionCommand, { taskDefinition: newBase }).resolves(baseTaskDefinition());
    await runtimeWith(changed).launch({ ...spec, sessionId: crypto.randomUUID() });

    expect(efsMock.commandCalls(CreateAccessPointCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(2);
    const family = `sbx-chat-${tenantHash(TENANT)}-${spec.chatId}`;
    expect(ecsMock.commandCalls(RunTaskCommand)[1]!.args[0].input.taskDefinition).toBe(
      chatTaskDefinitionArn(family, 2),
    );
    expect(registry.active()).toEqual([chatTaskDefinitionArn(family, 2)]);
  });

  it('uses a revision a launch registered and never recorded, instead of registering another', async () => {
    const spec = freshSpec();
    const family = `sbx-chat-${tenantHash(TENANT)}-${spec.chatId}`;
    const registry = new TaskDefinitionRegistry();
    acceptFirstLaunch();
    registry.serve(ecsMock);
    acceptRunTask(ecsMock);
    // What an api instance left when it died between RegisterTaskDefinition and the record step.
    const leaked = registry.register(family, [
      { key: 'sandbox:profile', value: 'default' },
      { key: 'sandbox:fingerprint', value: definitionFingerprint(SETTINGS, SETTINGS.profiles.default!) },
      { key: 'sandbox:access-point-id', value: CHAT_ACCESS_POINT_ID },
    ]);
    // And an older revision of the profile nobody uses.
    const stale = registry.register(family, [
      { key: 'sandbox:profile', value: 'default' },
      { key: 'sandbox:fingerprint', value: 'an-older-derivation' },
    ]);

    await runtimeWith().launch(spec);

    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input.taskDefinition).toBe(leaked);
    expect(registry.active()).toEqual([leaked]);
    expect(registry.revisions.find((revision) => revision.arn === stale)?.status).toBe('INACTIVE');
    expect(
      (await volumeStore.get({ tenant: TENANT, chatId: spec.chatId }))?.taskDefinitions.default?.arn,
    ).toBe(leaked);
  });

  it('treats a RunTask 200 with failures[] and no task as a launch failure', async () => {
    acceptFirstLaunch();
    ecsMock.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ arn: chatTaskDefinitionArn(FAMILY), reason: 'ATTRIBUTE', detail: 'missing capability' }],
    });
    const error = await runtimeWith()
      .launch(freshSpec())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(false);
    expect((error as LaunchError).message).toContain('ATTRIBUTE');
  });

  it('makes a Fargate capacity failure in failures[] retryable', async () => {
    acceptFirstLaunch();
    ecsMock.on(RunTaskCommand).resolves({
      failures: [
        {
          reason:
            'Capacity is unavailable at this time. Please try again later or in a different availability zone',
        },
      ],
    });
    const error = await runtimeWith()
      .launch(freshSpec())
      .catch((caught: unknown) => caught);
    expect((error as LaunchError).retryable).toBe(true);
  });

  it('makes RunTask throttling that outlasted the SDK retries a retryable launch error', async () => {
    acceptFirstLaunch();
    ecsMock.on(RunTaskCommand).rejects(
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400, attempts: 4 },
        message: 'Rate exceeded',
      }),
    );
    const error = await runtimeWith()
      .launch(freshSpec())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(true);
  });

  it('makes a concurrent revision of the family a retryable launch error', async () => {
    acceptFirstLaunch();
    ecsMock.on(RegisterTaskDefinitionCommand).rejects(
      new ClientException({
        message: 'Too many concurrent attempts to create a new revision of the specified family.',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const error = await runtimeWith()
      .launch(freshSpec())
      .catch((caught: unknown) => caught);
    expect((error as LaunchError).retryable).toBe(true);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it('fails for good on an invalid task definition (any other ClientException)', async () => {
    acceptFirstLaunch();
    ecsMock
      .on(RegisterTaskDefinitionCommand)
      .rejects(
        new ClientException({ message: 'Invalid setting for container', $metadata: { httpStatusCode: 400 } }),
      );
    const error = await runtimeWith()
      .launch(freshSpec())
      .catch((caught: unknown) => caught);
    expect((error as LaunchError).retryable).toBe(false);
  });

  it('answers the earlier task when the token was used with other parameters (ConflictException)', async () => {
    acceptFirstLaunch();
    ecsMock.on(RunTaskCommand).rejects(
      new ConflictException({
        message: 'The provided clientToken is already in use with a different RunTask request.',
        resourceIds: [taskArn('earlier')],
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(runtimeWith().launch(freshSpec())).resolves.toEqual({ ref: taskArn('earlier') });
  });

  it('uses the access point a re-issued launch already created (AccessPointAlreadyExists)', async () => {
    acceptFirstLaunch();
    efsMock.on(CreateAccessPointCommand).rejects(
      new AccessPointAlreadyExists({
        ErrorCode: 'AccessPointAlreadyExists',
        message: 'Access point already exists with the same creation token',
        AccessPointId: 'fsap-0ddddddddddddddd4',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    efsMock.on(DescribeAccessPointsCommand).resolves({ AccessPoints: [{ LifeCycleState: 'available' }] });
    ecsMock
      .on(RunTaskCommand)
      .resolves({ tasks: [fargateTask({ arn: taskArn('d1'), startedBy: 'x', lastStatus: 'PENDING' })] });
    await runtimeWith().launch(freshSpec());
    const registered = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    const chat = registered.volumes?.find((volume) => volume.name === 'chat');
    expect(chat?.efsVolumeConfiguration?.authorizationConfig?.accessPointId).toBe('fsap-0ddddddddddddddd4');
  });

  it('refuses an environment larger than ECS overrides allow', async () => {
    acceptFirstLaunch();
    const env = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`BIG_${i}`, 'x'.repeat(4096)]));
    const error = await runtimeWith()
      .launch({ ...freshSpec(), env })
      .catch((caught: unknown) => caught);
    expect((error as LaunchError).retryable).toBe(false);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});
