/**
 * The event-publisher and webhook functions as Lambda runs them. The publisher gets stream records
 * recorded from DynamoDB Local's stream of a real run (a create, its task running, a reuse, a
 * replacement, a delete), in the shape Lambda hands them over, plus a TTL removal as the DynamoDB
 * developer guide documents it; EventBridge and Secrets Manager are aws-sdk-client-mock's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBRecord, DynamoDBStreamEvent, EventBridgeEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { TEST_CREDENTIALS } from '../../src/adapters/dynamodb/client.js';
import { streamArnOf } from '../../src/adapters/dynamodb/ensure-table.js';
import { localStreamsClient, StreamTail } from '../../src/adapters/dynamodb/stream-tail.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/adapters/webhook/signature.js';
import type { SandboxEventDetail } from '../../src/core/events.js';
import { getOrCreate } from '../../src/core/get-or-create.js';
import type { ChatKey } from '../../src/core/model.js';
import { onRuntimeEvent } from '../../src/core/runtime-events.js';
import { deleteSandbox } from '../../src/core/sandbox-ops.js';
import { ENV, EVENT_SOURCE } from '../../src/names.js';
import { createTestTable } from '../support/dynamo.js';
import { coreDeps, silentLogger } from '../support/fakes.js';
import { lambdaContext } from './events.js';
import { coldStart, functionEnv } from './harness.js';

const eventBridge = mockClient(EventBridgeClient);
const secrets = mockClient(SecretsManagerClient);
const BUS = 'AgentSandbox-events';
const chat = (n: number): ChatKey => ({
  tenant: 'acme',
  chatId: `88888888-8888-4888-8888-${String(n).padStart(12, '0')}`,
});

/** Records of a real run, read from DynamoDB Local's stream and put in Lambda's record shape. */
async function recordedRun(): Promise<DynamoDBRecord[]> {
  const table = await createTestTable();
  const deps = coreDeps(table.store);
  const first = (await getOrCreate(deps, { key: chat(1), agentId: 'a', idleTimeoutSeconds: 60 })).session;
  await onRuntimeEvent(deps, {
    kind: 'running',
    ...chat(1),
    sessionId: first.sessionId,
    ref: first.runtimeRef!,
    endpoint: { host: '10.0.3.4', port: 8080 },
  });
  await getOrCreate(deps, { key: chat(1), agentId: 'a', idleTimeoutSeconds: 60 }); // a reuse: no event
  deps.clock.advance(61_000);
  await getOrCreate(deps, { key: chat(1), agentId: 'a' }); // replaces the expired one
  await deleteSandbox(deps, chat(1));

  const records: DynamoDBRecord[] = [];
  const streams = localStreamsClient(inject('dynamoEndpoint'), TEST_CREDENTIALS);
  const tail = new StreamTail(
    streams,
    await streamArnOf(table.client, table.tableName),
    async (batch) => {
      for (const record of batch) {
        records.push({
          eventID: record.eventID,
          eventName: record.eventName as DynamoDBRecord['eventName'],
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'us-east-1',
          dynamodb: {
            ...(record.dynamodb as DynamoDBRecord['dynamodb']),
            ApproximateCreationDateTime: Math.floor(
              (record.dynamodb!.ApproximateCreationDateTime as Date).getTime() / 1000,
            ),
          },
        });
      }
    },
    { from: 'oldest', logger: silentLogger },
  );
  await tail.drain();
  streams.destroy();
  return records;
}

/** A TTL deletion of a stopped sandbox item, as DynamoDB Streams reports it. */
function ttlRemoval(): DynamoDBRecord {
  const image = {
    pk: { S: `CHAT#acme#${chat(2).chatId}` },
    sk: { S: 'SANDBOX' },
    tenant: { S: 'acme' },
    chatId: { S: chat(2).chatId },
    sessionId: { S: 'a0a0a0a0-0000-4000-8000-000000000009' },
    agentId: { S: 'a' },
    profile: { S: 'default' },
    status: { S: 'stopped' },
    stopReason: { S: 'deleted' },
    createdAt: { N: '1795305600000' },
    lastActiveAt: { N: '1795305600000' },
    expiresAt: { N: '1795306500000' },
    maxExpiresAt: { N: '1795334400000' },
    idleTimeoutSeconds: { N: '900' },
    stoppedAt: { N: '1795305700000' },
    settledAt: { N: '1795305700000' },
    metadata: { M: {} },
    env: { M: {} },
    version: { N: '7' },
    launchAttempts: { N: '1' },
    stopAttempts: { N: '1' },
    ttl: { N: '1795910500' },
  };
  return {
    eventID: 'c81e728d9d4c2f636f067f89cc14862c',
    eventName: 'REMOVE',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    dynamodb: {
      ApproximateCreationDateTime: 1795910600,
      Keys: { pk: image.pk, sk: image.sk },
      OldImage: image,
      SequenceNumber: '9900000000000000000000001',
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  } as DynamoDBRecord;
}

type Publisher = (
  event: DynamoDBStreamEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

describe('event-publisher function', () => {
  let publish: Publisher;
  let records: DynamoDBRecord[];

  beforeAll(async () => {
    records = await recordedRun();
    coldStart(functionEnv('unused', { [ENV.eventBusName]: BUS }));
    publish = (await import('../../functions/event-publisher.js')).handler as unknown as Publisher;
  });
  afterAll(() => vi.unstubAllEnvs());
  beforeEach(() => {
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map(() => ({ EventId: 'e' })),
    }));
  });

  const entries = () =>
    eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
  const summary = () =>
    entries().map((entry) => {
      const detail = JSON.parse(entry.Detail!) as SandboxEventDetail;
      return `${detail.sessionId.slice(-2)} ${detail.status}${detail.stopReason ? `/${detail.stopReason}` : ''}`;
    });

  it('puts one event per change of status on the bus, in order, and none for the reuse or other items', async () => {
    expect(records.some((record) => record.dynamodb?.Keys?.sk?.S !== 'SANDBOX')).toBe(true);
    const answer = await publish({ Records: records }, lambdaContext('sandbox-event-publisher'));
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(summary()).toEqual([
      '01 provisioning',
      '01 running',
      '01 stopped/replaced',
      '02 provisioning',
      '02 stopping/deleted',
    ]);
    for (const entry of entries()) {
      expect(entry).toMatchObject({
        EventBusName: BUS,
        Source: EVENT_SOURCE,
        DetailType: 'Sandbox State Change',
      });
    }
  });

  it('puts nothing for a TTL removal of an ended session', async () => {
    expect(await publish({ Records: [ttlRemoval()] }, lambdaContext('sandbox-event-publisher'))).toEqual({
      batchItemFailures: [],
    });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('reports the record of the first event the bus refused, so Lambda retries from there in order', async () => {
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [
        { EventId: 'e1' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
        { EventId: 'e3' },
      ],
    });
    const answer = await publish({ Records: records }, lambdaContext('sandbox-event-publisher'));
    // The second event (running) came from the record of the promote write.
    const running = records.find(
      (record) =>
        record.dynamodb?.NewImage?.status?.S === 'running' &&
        record.dynamodb.OldImage?.status?.S === 'provisioning',
    );
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: running!.dynamodb!.SequenceNumber }]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});

describe('webhook function', () => {
  let deliver: (
    event: EventBridgeEvent<string, SandboxEventDetail>,
    context: ReturnType<typeof lambdaContext>,
  ) => Promise<unknown>;
  let receiver: Server;
  const received: { body: string; signature: string }[] = [];
  let answer = 204;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        received.push({ body, signature: String(request.headers[SIGNATURE_HEADER.toLowerCase()]) });
        response.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const { port } = receiver.address() as AddressInfo;
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'whsec-0123456789abcdef' });
    coldStart(
      functionEnv('unused', {
        [ENV.webhookUrl]: `http://127.0.0.1:${port}/hook`,
        [ENV.webhookSecretArn]: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      }),
    );
    deliver = (await import('../../functions/webhook.js')).handler as unknown as typeof deliver;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const envelope = (): EventBridgeEvent<string, SandboxEventDetail> => ({
    version: '0',
    id: '7f2a0c1e-0000-4000-8000-000000000001',
    'detail-type': 'Sandbox State Change',
    source: EVENT_SOURCE,
    account: '123456789012',
    time: '2026-12-01T10:15:32Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      schemaVersion: '1',
      tenant: 'acme',
      ownerId: null,
      chatId: chat(1).chatId,
      sessionId: 'a0a0a0a0-0000-4000-8000-000000000001',
      agentId: 'a',
      profile: 'default',
      status: 'running',
      previousStatus: 'provisioning',
      stopReason: null,
      endpoint: { host: '10.0.3.4', port: 8080 },
      createdAt: '2026-12-01T10:14:51.000Z',
      lastActiveAt: '2026-12-01T10:14:51.000Z',
      expiresAt: '2026-12-01T10:30:32.000Z',
      maxExpiresAt: '2026-12-01T18:14:51.000Z',
      runningAt: '2026-12-01T10:15:32.000Z',
      stoppedAt: null,
      sequence: 3,
    },
  });

  it('POSTs the event as local mode does, signed with the secret from Secrets Manager', async () => {
    answer = 204;
    await deliver(envelope(), lambdaContext('sandbox-webhook'));
    const last = received.at(-1)!;
    expect(JSON.parse(last.body)).toMatchObject({
      id: 'a0a0a0a0-0000-4000-8000-000000000001/3/state',
      type: 'Sandbox State Change',
      detail: { status: 'running', sequence: 3 },
    });
    expect(verifySignature('whsec-0123456789abcdef', last.body, last.signature, Date.now())).toBe(true);
  });

  it('fails the invocation when the endpoint does not take it, so Lambda retries and then parks it', async () => {
    answer = 503;
    await expect(deliver(envelope(), lambdaContext('sandbox-webhook'))).rejects.toThrow(/answered 503/);
  });
});
