import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
} from '@aws-sdk/client-ecs';
import {
  AccessPointNotFound,
  DeleteAccessPointCommand,
  EFSClient,
  EFSServiceException,
} from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { taskFamily } from '../../src/adapters/aws-naming.js';
import { DynamoVolumeStore } from '../../src/adapters/dynamodb/volume-store.js';
import { ChatVolumes } from '../../src/adapters/ecs/chat-volumes.js';
import { VolumeRetirer } from '../../src/adapters/ecs/volume-retirer.js';
import { EfsAccessPoints } from '../../src/adapters/efs/access-points.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { NewChatVolume } from '../../src/core/volume-ports.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { coreDeps, ManualClock, silentLogger, T0 } from '../support/fakes.js';
import { CHAT_ACCESS_POINT_ID, chatTaskDefinitionArn, FILE_SYSTEM_ID, SETTINGS } from './fixtures.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);
const DAY = 86_400_000;
const TENANT = 'acme';

let table: TestTable;
let volumes: DynamoVolumeStore;
let clock: ManualClock;
let retirer: VolumeRetirer;

function volume(chatId: string, lastUsedAt = T0): NewChatVolume {
  return {
    tenant: TENANT,
    chatId,
    fileSystemId: FILE_SYSTEM_ID,
    accessPointId: CHAT_ACCESS_POINT_ID,
    taskDefinitions: { default: { arn: chatTaskDefinitionArn(`sbx-chat-x-${chatId}`), fingerprint: 'f1' } },
    lastUsedAt,
    retireAt: lastUsedAt + 30 * DAY,
  };
}

beforeEach(async () => {
  ecsMock.reset();
  efsMock.reset();
  ecsMock.on(DeregisterTaskDefinitionCommand).resolves({});
  ecsMock.on(DeleteTaskDefinitionsCommand).resolves({ taskDefinitions: [], failures: [] });
  ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  efsMock.on(DeleteAccessPointCommand).resolves({});
  table = await createTestTable();
  volumes = new DynamoVolumeStore(table.client, table.tableName);
  clock = new ManualClock(T0);
  const ecs = new ECSClient({ region: 'us-west-2' });
  const accessPoints = new EfsAccessPoints({
    efs: new EFSClient({ region: 'us-west-2' }),
    fileSystemId: FILE_SYSTEM_ID,
    owner: SETTINGS.chatOwner,
    clock,
    logger: silentLogger,
  });
  retirer = new VolumeRetirer({
    ecs,
    accessPoints,
    volumes: new ChatVolumes({
      ecs,
      accessPoints,
      store: volumes,
      settings: SETTINGS,
      clock,
      logger: silentLogger,
    }),
    store: volumes,
    sessions: table.store,
    settings: SETTINGS,
    clock,
    logger: silentLogger,
  });
});

describe('VolumeRetirer', () => {
  it('retires a chat unused past the retirement age: task definitions, then access point, then record', async () => {
    const chatId = crypto.randomUUID();
    await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);

    const summary = await retirer.retireDue();

    expect(summary).toEqual({ examined: 1, retired: 1, rearmed: 0, errors: 0, truncated: false });
    const arn = chatTaskDefinitionArn(`sbx-chat-x-${chatId}`);
    expect(ecsMock.commandCalls(DeregisterTaskDefinitionCommand)[0]!.args[0].input).toEqual({
      taskDefinition: arn,
    });
    expect(ecsMock.commandCalls(DeleteTaskDefinitionsCommand)[0]!.args[0].input).toEqual({
      taskDefinitions: [arn],
    });
    expect(efsMock.commandCalls(DeleteAccessPointCommand)[0]!.args[0].input).toEqual({
      AccessPointId: CHAT_ACCESS_POINT_ID,
    });
    await expect(volumes.get({ tenant: TENANT, chatId })).resolves.toBeNull();
  });

  it('leaves chats used within the retirement age alone', async () => {
    await volumes.put(volume(crypto.randomUUID()), null);
    clock.advance(29 * DAY);
    await expect(retirer.retireDue()).resolves.toMatchObject({ examined: 0, retired: 0 });
    expect(ecsMock.calls()).toHaveLength(0);
    expect(efsMock.calls()).toHaveLength(0);
  });

  it('pushes retirement out while the chat has a live sandbox', async () => {
    const chatId = crypto.randomUUID();
    await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);
    await getOrCreate(coreDeps(table.store, { clock }), {
      key: { tenant: TENANT, chatId },
      agentId: 'agent-alpha',
    });

    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 0, rearmed: 1 });
    expect(efsMock.calls()).toHaveLength(0);
    const kept = await volumes.get({ tenant: TENANT, chatId });
    expect(kept).toMatchObject({
      state: 'active',
      lastUsedAt: clock.now(),
      retireAt: clock.now() + 30 * DAY,
    });
  });

  it('finishes a retirement that failed half-way on a later pass; a missing access point is fine', async () => {
    const chatId = crypto.randomUUID();
    await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);
    efsMock.on(DeleteAccessPointCommand).rejects(
      new EFSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'slow down',
      }),
    );
    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 0, errors: 1 });
    await expect(volumes.get({ tenant: TENANT, chatId })).resolves.toMatchObject({ state: 'retiring' });

    // Not due again until the retry delay has passed.
    await expect(retirer.retireDue()).resolves.toMatchObject({ examined: 0 });
    clock.advance(11 * 60 * 1000);
    efsMock
      .on(DeleteAccessPointCommand)
      .rejects(new AccessPointNotFound({ ErrorCode: 'AccessPointNotFound', message: 'gone', $metadata: {} }));
    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 1, errors: 0 });
    await expect(volumes.get({ tenant: TENANT, chatId })).resolves.toBeNull();
  });
});

describe('VolumeRetirer, with task definitions left over', () => {
  it('keeps the record until every task definition is deleted', async () => {
    const chatId = crypto.randomUUID();
    await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);
    const arn = chatTaskDefinitionArn(`sbx-chat-x-${chatId}`);
    ecsMock
      .on(DeleteTaskDefinitionsCommand)
      .resolves({ taskDefinitions: [], failures: [{ arn, reason: 'TASK_DEFINITION_IN_USE', detail: 'x' }] });
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn, status: 'INACTIVE' } });

    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 0, errors: 1 });
    await expect(volumes.get({ tenant: TENANT, chatId })).resolves.toMatchObject({ state: 'retiring' });
    expect(efsMock.calls()).toHaveLength(0);

    // A later pass finds it deleting: the retirement completes.
    clock.advance(11 * 60 * 1000);
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn, status: 'DELETE_IN_PROGRESS' } });
    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 1, errors: 0 });
    await expect(volumes.get({ tenant: TENANT, chatId })).resolves.toBeNull();
  });

  it("also deletes revisions of the chat's family that no record names", async () => {
    const chatId = crypto.randomUUID();
    await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);
    const family = taskFamily(SETTINGS.taskFamilyPrefix, { tenant: TENANT, chatId });
    const leaked = chatTaskDefinitionArn(family, 3);
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [leaked] });
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: leaked }, tags: [] });

    await expect(retirer.retireDue()).resolves.toMatchObject({ retired: 1 });
    const deregistered = ecsMock
      .commandCalls(DeregisterTaskDefinitionCommand)
      .map((call) => call.args[0].input.taskDefinition);
    expect(deregistered).toEqual([chatTaskDefinitionArn(`sbx-chat-x-${chatId}`), leaked]);
    expect(ecsMock.commandCalls(DeleteTaskDefinitionsCommand)[0]!.args[0].input.taskDefinitions).toEqual(
      deregistered,
    );
  });
});

describe('DynamoVolumeStore', () => {
  it("keeps volume records out of the session reconciler's index partitions", async () => {
    await volumes.put(volume(crypto.randomUUID()), null);
    const seen = [];
    for await (const session of table.store.listDue(Number.MAX_SAFE_INTEGER)) seen.push(session);
    expect(seen).toEqual([]);
  });

  it('lets a launch replace a retiring record, and the retirement then leaves the new record alone', async () => {
    const chatId = crypto.randomUUID();
    const key = { tenant: TENANT, chatId };
    const first = await volumes.put(volume(chatId), null);
    clock.advance(31 * DAY);
    const retiring = await volumes.markRetiring(key, first!.version, clock.now(), clock.now() + 60_000);
    expect(retiring).toMatchObject({ state: 'retiring' });
    // A launch sees `retiring`, creates new resources and replaces the record.
    await expect(volumes.touch(key, clock.now(), clock.now() + 30 * DAY)).resolves.toBeNull();
    const replaced = await volumes.put(
      { ...volume(chatId, clock.now()), accessPointId: 'fsap-0eeeeeeeeeeeeeee5' },
      retiring!.version,
    );
    expect(replaced).toMatchObject({ state: 'active' });

    await expect(volumes.remove(key, retiring!.version)).resolves.toBe(false);
    await expect(volumes.get(key)).resolves.toMatchObject({
      accessPointId: 'fsap-0eeeeeeeeeeeeeee5',
      state: 'active',
    });
  });

  it('maps a tenant hash back to its tenant and refuses a second tenant on the same hash', async () => {
    await volumes.remember('0123456789abcdef', 'acme');
    await volumes.remember('0123456789abcdef', 'acme');
    await expect(volumes.lookup('0123456789abcdef')).resolves.toBe('acme');
    await expect(volumes.lookup('fedcba9876543210')).resolves.toBeNull();
    await expect(volumes.remember('0123456789abcdef', 'other')).rejects.toThrow('already belongs');
  });
});
