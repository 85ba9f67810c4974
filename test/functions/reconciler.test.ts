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
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeStartedBy, parseStartedBy } from '../../src/adapters/aws-naming.js';
import { DynamoChatPurges } from '../../src/adapters/dynamodb/chat-purges.js';
import { DynamoQuotaStore } from '../../src/adapters/dynamodb/quota-store.js';
import { DynamoVolumeStore } from '../../src/adapters/dynamodb/volume-store.js';
import { PURGE_SETTLE_MS } from '../../src/core/chat-purge.js';
import { ENV } from '../../src/names.js';
import { CHAT_ACCESS_POINT_ID, fargateTask, taskArn } from '../ecs/fixtures.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { httpApiEvent, lambdaContext, taskStateChange } from './events.js';
import {
  acceptRunTask,
  acceptVolumeCreation,
  coldStart,
  functionEnv,
  parseAnswer,
  STORAGE_FUNCTION_NAME,
} from './harness.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);
const lambdaMock = mockClient(LambdaClient);
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
  lambdaMock.reset();
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

/**
 * A chat whose sandbox ran and was deleted (its task reported stopped), with the deletions of its
 * task definitions and access point accepted; answers the chat id.
 */
async function stoppedChat(): Promise<string> {
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
  return chatId;
}

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
    await stoppedChat();
    vi.setSystemTime(Date.now() + 31 * DAY);

    const summary = await runReconciler();

    expect(summary.volumes).toMatchObject({ examined: 1, retired: 1, errors: 0 });
    expect(ecsMock.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DeleteTaskDefinitionsCommand)).toHaveLength(1);
    expect(efsMock.commandCalls(DeleteAccessPointCommand)[0]!.args[0].input).toEqual({
      AccessPointId: CHAT_ACCESS_POINT_ID,
    });
  });

  /** A chat whose sandbox ran and stopped, then was marked for purging; answers its key and mark. */
  async function purgedChat() {
    const key = { tenant: ALICE, chatId: await stoppedChat() };
    const purgingAt = await new DynamoChatPurges(table.client, table.tableName).mark(
      key,
      Date.now(),
      Date.now() + PURGE_SETTLE_MS,
    );
    return { key, purgingAt };
  }

  const removed = (answer: unknown) => ({
    StatusCode: 200,
    Payload: new TextEncoder().encode(JSON.stringify(answer)),
  });

  it("finishes a due purge: the chat's AWS resources here, its directory through the storage function", async () => {
    const { key, purgingAt } = await purgedChat();
    lambdaMock.on(InvokeCommand).resolves(removed({ removed: true }) as never);
    // Not before the settle time.
    expect((await runReconciler()).purges).toEqual({ purged: 0, abandoned: 0, truncated: false });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);

    vi.setSystemTime(Date.now() + PURGE_SETTLE_MS + 1_000);
    expect((await runReconciler()).purges).toEqual({ purged: 1, abandoned: 0, truncated: false });

    const invoked = lambdaMock.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(invoked.FunctionName).toBe(STORAGE_FUNCTION_NAME);
    expect(invoked.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(invoked.Payload as Uint8Array))).toEqual({
      action: 'removeChatDirectory',
      ...key,
      purgingAt,
    });
    expect(efsMock.commandCalls(DeleteAccessPointCommand)[0]!.args[0].input).toEqual({
      AccessPointId: CHAT_ACCESS_POINT_ID,
    });
    expect(ecsMock.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(DeleteTaskDefinitionsCommand)).toHaveLength(1);
    expect(await new DynamoVolumeStore(table.client, table.tableName).get(key)).toBeNull();
    expect(await new DynamoQuotaStore(table.client, table.tableName).getChat(key)).toBeNull();
    expect(await table.store.get(key)).toBeNull();
  });

  it('keeps the purge mark when the storage function fails or refuses, and finishes on a later run', async () => {
    const { key, purgingAt } = await purgedChat();
    vi.setSystemTime(Date.now() + PURGE_SETTLE_MS + 1_000);
    lambdaMock
      .on(InvokeCommand)
      .resolvesOnce({
        ...removed({ errorType: 'Error', errorMessage: 'EIO' }),
        FunctionError: 'Unhandled',
      } as never)
      .resolvesOnce(removed({ removed: false, reason: 'the chat is not purging under this mark' }) as never)
      .resolves(removed({ removed: true }) as never);
    const quotas = new DynamoQuotaStore(table.client, table.tableName);

    expect((await runReconciler()).purges).toMatchObject({ purged: 0 });
    expect((await quotas.getChat(key))?.purgingAt).toBe(purgingAt);
    expect((await runReconciler()).purges).toMatchObject({ purged: 0 });
    expect((await quotas.getChat(key))?.purgingAt).toBe(purgingAt);
    expect((await runReconciler()).purges).toMatchObject({ purged: 1 });
    expect(await quotas.getChat(key)).toBeNull();
    // The AWS resources went on the first run and were not asked for again.
    expect(efsMock.commandCalls(DeleteAccessPointCommand)).toHaveLength(1);
  });

  it('starts without the storage function, leaving due purges marked', async () => {
    const { key, purgingAt } = await purgedChat();
    const { [ENV.storageFunctionName]: _unset, ...env } = functionEnv(table.tableName);
    coldStart(env);
    const bare = (await import('../../functions/reconciler.js')).handler;
    vi.setSystemTime(Date.now() + PURGE_SETTLE_MS + 1_000);
    const summary = await bare({}, lambdaContext('sandbox-reconciler', 55_000));
    expect(summary).toMatchObject({ ran: true, purges: null });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect((await new DynamoQuotaStore(table.client, table.tableName).getChat(key))?.purgingAt).toBe(
      purgingAt,
    );
  });

  it('does nothing while another pass holds the lease', async () => {
    await table.store.acquireLease('reconciler', 'another-pass', Date.now(), Date.now() + 60_000);
    await expect(runReconciler()).resolves.toMatchObject({
      ran: false,
      examined: 0,
      volumes: null,
      purges: null,
    });
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(0);
  });
});
