import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { DeleteAccessPointCommand, EFSClient } from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeStartedBy, parseStartedBy } from '../../src/adapters/aws-naming.js';
import { CHAT_ACCESS_POINT_ID, fargateTask, taskArn } from '../ecs/fixtures.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { httpApiEvent, lambdaContext, taskStateChange } from './events.js';
import { acceptRunTask, acceptVolumeCreation, coldStart, functionEnv, parseAnswer } from './harness.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const DAY = 86_400_000;

let table: TestTable;
let api: typeof import('../../functions/api.js')['handler'];
let taskEvents: typeof import('../../functions/task-events.js')['handler'];
let reconciler: typeof import('../../functions/reconciler.js')['handler'];

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.parse('2026-11-22T00:00:00.000Z'));
  table = await createTestTable();
  coldStart(functionEnv(table.tableName));
  api = (await import('../../functions/api.js')).handler;
  taskEvents = (await import('../../functions/task-events.js')).handler;
  reconciler = (await import('../../functions/reconciler.js')).handler;
  ecsMock.reset();
  efsMock.reset();
  acceptVolumeCreation(ecsMock, efsMock);
  acceptRunTask(ecsMock);
  ecsMock.on(StopTaskCommand).resolves({});
  ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

async function http(method: string, chatId: string, body?: unknown) {
  const event = httpApiEvent({ method, path: `/v1/chats/${chatId}/sandbox`, body, userArn: ALICE });
  return parseAnswer(await api(event as unknown as LambdaEvent, lambdaContext('sandbox-api')));
}

const runReconciler = () => reconciler({}, lambdaContext('sandbox-reconciler', 55_000));

describe('reconciler function', () => {
  it('promotes a sandbox whose task runs, stops an orphan task, and returns its summary', async () => {
    const chatId = crypto.randomUUID();
    await http('PUT', chatId, { agentId: 'agent-alpha' });
    const run = ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input;
    const ours = taskArn(run.clientToken!);
    const orphanStartedBy = encodeStartedBy({
      ...parseStartedBy(run.startedBy)!,
      sessionId: crypto.randomUUID(),
    });
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [ours, taskArn('orphan')] });
    ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((arn) =>
        fargateTask({
          arn,
          startedBy: arn === ours ? run.startedBy! : orphanStartedBy,
          lastStatus: 'RUNNING',
          privateIp: '10.0.40.2',
        }),
      ),
      failures: [],
    }));
    vi.setSystemTime(Date.now() + 200_000); // past the 180 s launch lease

    const summary = await runReconciler();

    expect(summary).toMatchObject({
      ran: true,
      examined: 1,
      promoted: 1,
      orphansStopped: 1,
      errors: 0,
      truncated: false,
    });
    expect(summary.volumes).toMatchObject({ retired: 0 });
    expect(ecsMock.commandCalls(StopTaskCommand).map((call) => call.args[0].input.task)).toEqual([
      taskArn('orphan'),
    ]);
    expect((await http('GET', chatId)).body).toMatchObject({
      sandbox: { status: 'running', endpoint: { host: '10.0.40.2', port: 8000 } },
    });
  });

  it('retires the access point and task definition of a chat unused for the retirement age', async () => {
    const chatId = crypto.randomUUID();
    await http('PUT', chatId, { agentId: 'agent-alpha' });
    const run = ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input;
    await http('DELETE', chatId);
    await taskEvents(
      taskStateChange({
        taskArn: taskArn(run.clientToken!),
        startedBy: run.startedBy!,
        lastStatus: 'STOPPED',
        version: 4,
      }),
      lambdaContext('sandbox-task-events'),
    );
    ecsMock.on(DeregisterTaskDefinitionCommand).resolves({});
    ecsMock.on(DeleteTaskDefinitionsCommand).resolves({ taskDefinitions: [], failures: [] });
    efsMock.on(DeleteAccessPointCommand).resolves({});
    vi.setSystemTime(Date.now() + 31 * DAY);

    const summary = await runReconciler();

    expect(summary.volumes).toMatchObject({ examined: 1, retired: 1, errors: 0 });
    expect(ecsMock.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DeleteTaskDefinitionsCommand)).toHaveLength(1);
    expect(efsMock.commandCalls(DeleteAccessPointCommand)[0]!.args[0].input).toEqual({
      AccessPointId: CHAT_ACCESS_POINT_ID,
    });
  });

  it('does nothing while another pass holds the lease', async () => {
    await table.store.acquireLease('reconciler', 'another-pass', Date.now(), Date.now() + 60_000);
    await expect(runReconciler()).resolves.toMatchObject({ ran: false, examined: 0, volumes: null });
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(0);
  });
});
