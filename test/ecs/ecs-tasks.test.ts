import {
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  InvalidParameterException,
  ListTasksCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tenantHash } from '../../src/adapters/aws-naming.js';
import { DynamoVolumeStore } from '../../src/adapters/dynamodb/volume-store.js';
import { createTestTable } from '../support/dynamo.js';
import { CLUSTER_ARN, fargateTask, taskArn } from './fixtures.js';
import { CHAT, runtimeWith as runtimeOver, SESSION, STARTED_BY, TENANT } from './runtime-setup.js';

const ecsMock = mockClient(ECSClient);
let volumeStore: DynamoVolumeStore;

beforeAll(async () => {
  const table = await createTestTable();
  volumeStore = new DynamoVolumeStore(table.client, table.tableName);
});

beforeEach(() => {
  ecsMock.reset();
});

const runtimeWith = () => runtimeOver(volumeStore);

describe('EcsSandboxRuntime.describe', () => {
  it('answers running with the ENI private IPv4 address and the profile port', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        fargateTask({
          arn: taskArn('e1'),
          startedBy: STARTED_BY,
          lastStatus: 'RUNNING',
          privateIp: '10.0.12.34',
        }),
      ],
      failures: [],
    });
    await expect(runtimeWith().describe(taskArn('e1'))).resolves.toEqual({
      status: 'running',
      endpoint: { host: '10.0.12.34', port: 8000 },
      health: 'starting',
    });
  });

  it.each([
    ['HEALTHY', 'healthy'],
    ['UNHEALTHY', 'unhealthy'],
    ['UNKNOWN', 'starting'],
  ] as const)('answers the health ECS reports: %s is %s', async (healthStatus, health) => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        fargateTask({
          arn: taskArn('h1'),
          startedBy: STARTED_BY,
          lastStatus: 'RUNNING',
          privateIp: '10.0.1.2',
          healthStatus,
        }),
      ],
    });
    await expect(runtimeWith().describe(taskArn('h1'))).resolves.toMatchObject({ status: 'running', health });
  });

  it('answers pending while the task is provisioning', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [fargateTask({ arn: taskArn('e2'), startedBy: STARTED_BY, lastStatus: 'PROVISIONING' })],
    });
    await expect(runtimeWith().describe(taskArn('e2'))).resolves.toEqual({ status: 'pending' });
  });

  it('answers stopped with the stop reason', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        fargateTask({
          arn: taskArn('e3'),
          startedBy: STARTED_BY,
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
        }),
      ],
    });
    await expect(runtimeWith().describe(taskArn('e3'))).resolves.toEqual({
      status: 'stopped',
      reason: 'Essential container in task exited',
    });
  });

  it('answers missing when DescribeTasks reports the task MISSING', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [], failures: [{ arn: taskArn('e4'), reason: 'MISSING' }] });
    await expect(runtimeWith().describe(taskArn('e4'))).resolves.toEqual({ status: 'missing' });
  });
});

describe('EcsSandboxRuntime.stop', () => {
  it('succeeds on a task that has already stopped', async () => {
    ecsMock.on(StopTaskCommand).resolves({
      task: fargateTask({
        arn: taskArn('f1'),
        startedBy: STARTED_BY,
        lastStatus: 'STOPPED',
        stoppedReason: 'earlier',
      }),
    });
    await expect(runtimeWith().stop(taskArn('f1'), 'deleted')).resolves.toBeUndefined();
    expect(ecsMock.commandCalls(StopTaskCommand)[0]!.args[0].input).toEqual({
      cluster: CLUSTER_ARN,
      task: taskArn('f1'),
      reason: 'deleted',
    });
  });

  it('succeeds on a task ECS no longer knows', async () => {
    ecsMock
      .on(StopTaskCommand)
      .rejects(
        new InvalidParameterException({ message: 'The referenced task was not found.', $metadata: {} }),
      );
    await expect(runtimeWith().stop(taskArn('f2'), 'deleted')).resolves.toBeUndefined();
  });

  it('propagates throttling so the caller retries later', async () => {
    ecsMock.on(StopTaskCommand).rejects(
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    await expect(runtimeWith().stop(taskArn('f3'), 'deleted')).rejects.toThrow('Rate exceeded');
  });
});

describe('EcsSandboxRuntime.inventory', () => {
  it('follows ListTasks pages, describes tasks in batches of 100, and lists strangers apart', async () => {
    const runtime = runtimeWith();
    await volumeStore.remember(tenantHash(TENANT), TENANT);
    const arns = Array.from({ length: 150 }, (_, i) => taskArn(`t${i}`));
    ecsMock
      .on(ListTasksCommand)
      .resolvesOnce({ taskArns: arns.slice(0, 100), nextToken: 'page-2' })
      .resolvesOnce({ taskArns: arns.slice(100) });
    ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((arn, i) =>
        fargateTask({
          arn,
          // One task in the cluster that this control plane did not start.
          startedBy: arn === arns[7] ? 'ecs-svc/9223370556150183303' : STARTED_BY,
          lastStatus: i % 2 === 0 ? 'RUNNING' : 'PENDING',
        }),
      ),
    }));

    const { tasks: live, strangers } = await runtime.inventory();

    expect(ecsMock.commandCalls(ListTasksCommand).map((call) => call.args[0].input)).toEqual([
      { cluster: CLUSTER_ARN, desiredStatus: 'RUNNING', nextToken: undefined },
      { cluster: CLUSTER_ARN, desiredStatus: 'RUNNING', nextToken: 'page-2' },
    ]);
    expect(
      ecsMock.commandCalls(DescribeTasksCommand).map((call) => call.args[0].input.tasks?.length),
    ).toEqual([100, 50]);
    expect(live).toHaveLength(149);
    expect(live[0]).toEqual({
      ref: arns[0],
      tenant: TENANT,
      chatId: CHAT,
      sessionId: SESSION,
      startedAt: Date.parse('2026-11-22T00:00:00Z'),
    });
    expect(strangers).toEqual([
      { ref: arns[7], startedAt: Date.parse('2026-11-22T00:00:00Z'), label: 'ecs-svc/9223370556150183303' },
    ]);
  });
});
