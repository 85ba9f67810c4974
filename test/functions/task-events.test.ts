import { ECSClient, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeStartedBy, parseStartedBy } from '../../src/adapters/aws-naming.js';
import { ENV } from '../../src/names.js';
import { BASE_TASK_DEFINITION_ARN, taskArn } from '../ecs/fixtures.js';
import { createTestTable } from '../support/dynamo.js';
import { httpApiEvent, lambdaContext, type TaskChange, taskStateChange } from './events.js';
import { acceptRunTask, acceptVolumeCreation, coldStart, functionEnv, parseAnswer } from './harness.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);
const ALICE = 'arn:aws:iam::111122223333:user/alice';

let api: typeof import('../../functions/api.js')['handler'];
let taskEvents: typeof import('../../functions/task-events.js')['handler'];

beforeAll(async () => {
  const { tableName } = await createTestTable();
  coldStart(
    functionEnv(tableName, {
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // A second profile, with a health check: its sandboxes are running once ECS reports HEALTHY.
      [ENV.profiles]: JSON.stringify({
        default: { taskDefinitionArn: BASE_TASK_DEFINITION_ARN, containerName: 'sandbox', port: 8000 },
        checked: { taskDefinitionArn: BASE_TASK_DEFINITION_ARN, containerName: 'sandbox', port: 8000 },
      }),
      [ENV.healthCheckedProfiles]: 'checked',
    }),
  );
  api = (await import('../../functions/api.js')).handler;
  taskEvents = (await import('../../functions/task-events.js')).handler;
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

beforeEach(() => {
  ecsMock.reset();
  efsMock.reset();
  acceptVolumeCreation(ecsMock, efsMock);
  acceptRunTask(ecsMock);
  ecsMock.on(StopTaskCommand).resolves({});
});

async function sandbox(chatId: string): Promise<Record<string, unknown>> {
  const event = httpApiEvent({ method: 'GET', path: `/v1/chats/${chatId}/sandbox`, userArn: ALICE });
  const answer = parseAnswer(await api(event as unknown as LambdaEvent, lambdaContext('sandbox-api')));
  return answer.body.sandbox as Record<string, unknown>;
}

/** Creates a sandbox through the api function; answers its chat and the task RunTask started. */
async function launched(profile = 'default'): Promise<{ chatId: string; ref: string; startedBy: string }> {
  const chatId = crypto.randomUUID();
  const event = httpApiEvent({
    method: 'PUT',
    path: `/v1/chats/${chatId}/sandbox`,
    body: { agentId: 'a1', profile },
    userArn: ALICE,
  });
  await api(event as unknown as LambdaEvent, lambdaContext('sandbox-api'));
  const input = ecsMock.commandCalls(RunTaskCommand).at(-1)!.args[0].input;
  return { chatId, ref: taskArn(input.clientToken!), startedBy: input.startedBy! };
}

const deliver = (change: TaskChange) =>
  taskEvents(taskStateChange(change), lambdaContext('sandbox-task-events'));

describe('task-events function', () => {
  it('marks the sandbox running with the task address when ECS reports RUNNING', async () => {
    const { chatId, ref, startedBy } = await launched();
    await expect(
      deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 3, privateIp: '10.0.12.34' }),
    ).resolves.toEqual({
      outcome: 'applied',
    });
    expect(await sandbox(chatId)).toMatchObject({
      status: 'running',
      endpoint: { host: '10.0.12.34', port: 8000 },
    });
  });

  it('keeps a sandbox whose profile has a health check provisioning until ECS reports it HEALTHY', async () => {
    const { chatId, ref, startedBy } = await launched('checked');
    await expect(
      deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 3, healthStatus: 'UNKNOWN' }),
    ).resolves.toEqual({ outcome: 'waiting_for_health' });
    expect(await sandbox(chatId)).toMatchObject({ status: 'provisioning', endpoint: null });
    await expect(
      deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 4, healthStatus: 'HEALTHY' }),
    ).resolves.toEqual({ outcome: 'applied' });
    expect(await sandbox(chatId)).toMatchObject({
      status: 'running',
      endpoint: { host: '10.0.0.139', port: 8000 },
    });
  });

  it('changes nothing on a repeated event or an older one arriving late', async () => {
    const { chatId, ref, startedBy } = await launched();
    await deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 3 });
    const before = await sandbox(chatId);

    await expect(deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 3 })).resolves.toEqual({
      outcome: 'ignored',
    });
    await expect(
      deliver({ taskArn: ref, startedBy, lastStatus: 'STOPPED', version: 2, stoppedReason: 'stale' }),
    ).resolves.toEqual({ outcome: 'ignored' });
    await expect(
      deliver({ taskArn: ref, startedBy, lastStatus: 'PENDING', version: 1 }),
    ).resolves.toMatchObject({
      outcome: 'ignored',
    });
    expect(await sandbox(chatId)).toEqual(before);
  });

  it('ends the sandbox when ECS reports the task STOPPED', async () => {
    const { chatId, ref, startedBy } = await launched();
    await deliver({ taskArn: ref, startedBy, lastStatus: 'RUNNING', version: 3 });
    await expect(deliver({ taskArn: ref, startedBy, lastStatus: 'STOPPED', version: 5 })).resolves.toEqual({
      outcome: 'applied',
    });
    expect(await sandbox(chatId)).toMatchObject({ status: 'stopped', stopReason: 'exited', endpoint: null });
  });

  it('stops a task that reports RUNNING for a session that is no longer current', async () => {
    const { ref, startedBy } = await launched();
    const owner = parseStartedBy(startedBy)!;
    const stale = encodeStartedBy({ ...owner, sessionId: crypto.randomUUID() });
    await expect(
      deliver({ taskArn: `${ref}-old`, startedBy: stale, lastStatus: 'RUNNING', version: 3 }),
    ).resolves.toEqual({
      outcome: 'stopped_stray_task',
    });
    expect(ecsMock.commandCalls(StopTaskCommand)[0]!.args[0].input.task).toBe(`${ref}-old`);
  });

  it('ignores events of other clusters and of tasks it did not start, with a log line', async () => {
    const info = vi.spyOn(console, 'info');
    const { ref, startedBy } = await launched();
    const foreign = taskStateChange({
      taskArn: ref,
      startedBy,
      lastStatus: 'RUNNING',
      version: 3,
      clusterArn: 'arn:aws:ecs:us-west-2:111122223333:cluster/other',
    });
    await expect(taskEvents(foreign, lambdaContext('sandbox-task-events'))).resolves.toEqual({
      outcome: 'ignored',
      reason: 'other_cluster',
    });
    await expect(
      deliver({
        taskArn: taskArn('svc'),
        startedBy: 'ecs-svc/9223370556150183303',
        lastStatus: 'RUNNING',
        version: 3,
      }),
    ).resolves.toEqual({ outcome: 'ignored', reason: 'unknown_task' });

    const lines = info.mock.calls.map((args) => String(args[0]));
    const otherCluster = lines.find(
      (line) => line.includes('task event ignored') && line.includes('other_cluster'),
    );
    // The EventBridge event id is the correlation id of every line the invocation logs.
    expect(JSON.parse(otherCluster!)).toMatchObject({ correlation_id: foreign.id, reason: 'other_cluster' });
    expect(lines.some((line) => line.includes('task event ignored') && line.includes('unknown_task'))).toBe(
      true,
    );
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });
});
