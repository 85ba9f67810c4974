/**
 * The logs function as Lambda runs it: environment set before the module is imported, the session
 * table on DynamoDB Local, CloudWatch Logs mocked (aws-sdk-client-mock mocks the module's own client).
 */
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ServiceUnavailableException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '../../src/core/model.js';
import { ENV, STORAGE_ROUTE_KEYS } from '../../src/names.js';
import { createTestTable, type TestTable } from '../support/dynamo.js';
import { sessionOf } from '../support/sessions.js';
import { type HttpRequest, httpApiEvent, lambdaContext } from './events.js';
import { type ApiAnswer, coldStart, functionEnv, parseAnswer } from './harness.js';

const logsMock = mockClient(CloudWatchLogsClient);

type LogsModule = typeof import('../../functions/logs.js');
let table: TestTable;
let logs: LogsModule['handler'];

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';
const GROUP = 'Test-Service-SandboxesProfiledefaultLogs-0123';
const T = Date.parse('2026-11-22T10:00:00.000Z');
const taskArn = (id: string) => `arn:aws:ecs:us-west-2:111122223333:task/Test-Service-Cluster/${id}`;
const FORWARD = 'f/38000000000000000000000000000000000000000000000000000001/s';
const LATER = 'f/38000000000000000000000000000000000000000000000000000002/s';

async function call(request: HttpRequest): Promise<ApiAnswer> {
  const event = httpApiEvent(request) as unknown as LambdaEvent;
  return parseAnswer(await logs(event, lambdaContext('sandbox-logs')));
}

/** A running session of `tenant`'s chat, as the api function would have recorded it. */
async function running(tenant: string, chatId: string, taskId: string): Promise<Session> {
  const session = sessionOf({ tenant, chatId }, T, {
    agentId: 'agent-alpha',
    status: 'running',
    endpoint: { host: '10.0.0.1', port: 8000 },
    runtimeRef: taskArn(taskId),
    expiresAt: Date.now() + 900_000,
    maxExpiresAt: Date.now() + 3_600_000,
    runningAt: T,
    dueAt: Date.now() + 900_000,
    launchAttempts: 1,
  });
  expect((await table.store.claim(session, null)).ok).toBe(true);
  return session;
}

beforeAll(async () => {
  table = await createTestTable();
  coldStart(
    functionEnv(table.tableName, {
      [ENV.logStreams]: JSON.stringify({
        default: { logGroupName: GROUP, streamPrefix: 'default', containerName: 'sandbox' },
      }),
    }),
  );
  logs = (await import('../../functions/logs.js')).handler;
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  logsMock.reset();
});

describe('logs function', () => {
  it("answers the signed caller's chat log from its task's stream, and follows it with the cursor", async () => {
    const chatId = crypto.randomUUID();
    const session = await running(ALICE, chatId, 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
    logsMock
      .on(GetLogEventsCommand)
      .resolves({
        events: [
          { timestamp: T + 1000, message: 'hello', ingestionTime: T + 1100 },
          { timestamp: T + 2000, message: 'world', ingestionTime: T + 2100 },
        ],
        nextForwardToken: FORWARD,
        nextBackwardToken: 'b/38000000000000000000000000000000000000000000000000000000/s',
      })
      .on(GetLogEventsCommand, { nextToken: FORWARD })
      .resolves({
        events: [{ timestamp: T + 3000, message: 'again', ingestionTime: T + 3100 }],
        nextForwardToken: LATER,
      })
      .on(GetLogEventsCommand, { nextToken: LATER })
      .resolves({ events: [], nextForwardToken: LATER });

    const answer = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/sandbox/logs`,
      query: 'tail=2',
      userArn: ALICE,
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({
      chatId,
      sessionId: session.sessionId,
      lines: [
        { time: '2026-11-22T10:00:01.000Z', message: 'hello' },
        { time: '2026-11-22T10:00:02.000Z', message: 'world' },
      ],
    });
    expect(logsMock.commandCalls(GetLogEventsCommand)[0]!.args[0].input).toEqual({
      logGroupName: GROUP,
      logStreamName: 'default/sandbox/a1b2c3d4e5f60718293a4b5c6d7e8f90',
      startFromHead: false,
      limit: 2,
    });

    const cursor = answer.body.nextCursor as string;
    const next = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/sandbox/logs`,
      query: `cursor=${encodeURIComponent(cursor)}`,
      userArn: ALICE,
    });
    expect(next.statusCode).toBe(200);
    expect(next.body.lines).toEqual([{ time: '2026-11-22T10:00:03.000Z', message: 'again' }]);

    // Bob's chat of the same id is another chat: Alice's cursor is refused there, and nothing is read.
    await running(BOB, chatId, 'b1b2c3d4e5f60718293a4b5c6d7e8f90');
    logsMock.resetHistory();
    const asBob = await call({
      method: 'GET',
      path: `/v1/chats/${chatId}/sandbox/logs`,
      query: `cursor=${encodeURIComponent(cursor)}`,
      userArn: BOB,
    });
    expect(asBob.statusCode).toBe(422);
    expect(asBob.body.code).toBe('invalid_cursor');
    expect(logsMock.commandCalls(GetLogEventsCommand)).toEqual([]);
  });

  it('answers 404 for a chat without a session and 401 without a signed caller', async () => {
    const path = `/v1/chats/${crypto.randomUUID()}/sandbox/logs`;
    const missing = await call({ method: 'GET', path, userArn: ALICE });
    expect(missing.statusCode).toBe(404);
    expect(missing.body.code).toBe('sandbox_not_found');
    expect((await call({ method: 'GET', path, userArn: null })).statusCode).toBe(401);
  });

  it("serves the API's OpenAPI document: every route, this deployment's bounds, no host paths", async () => {
    const answer = await call({ method: 'GET', path: '/v1/openapi.json', userArn: ALICE });
    expect(answer.statusCode).toBe(200);
    const paths = answer.body.paths as Record<string, Record<string, { operationId: string }>>;
    expect(paths['/v1/chats/{chatId}/sandbox/logs']?.get?.operationId).toBe('getSandboxLogs');
    expect(paths['/v1/chats/{chatId}/sandbox']?.put?.operationId).toBe('getOrCreateSandbox');
    expect(paths['/v1/events']).toBeUndefined();
    expect(paths['/v1/openapi.json']?.get?.operationId).toBe('getOpenApiDocument');
    // The storage function's routes, which API Gateway sends there.
    for (const { method, path } of STORAGE_ROUTE_KEYS) expect(paths[path]?.[method]).toBeDefined();
    const schemas = (
      answer.body.components as { schemas: Record<string, { properties: Record<string, unknown> }> }
    ).schemas;
    expect(schemas.GetOrCreateRequest?.properties.profile).toMatchObject({ enum: ['default'] });
    expect(schemas.CompatCreateRequest?.properties.volume_host_path).toMatchObject({ not: {} });
    expect((answer.body.servers as { url: string }[])[0]?.url).toBe(
      'https://abcdef1234.execute-api.us-west-2.amazonaws.com',
    );
  });

  it('answers 503 with Retry-After and nothing internal when CloudWatch Logs is unavailable', async () => {
    const chatId = crypto.randomUUID();
    await running(ALICE, chatId, 'c1b2c3d4e5f60718293a4b5c6d7e8f90');
    logsMock.on(GetLogEventsCommand).rejects(
      new ServiceUnavailableException({
        message: `internal detail of ${GROUP}`,
        $metadata: { httpStatusCode: 503 },
      }),
    );
    const answer = await call({ method: 'GET', path: `/v1/chats/${chatId}/sandbox/logs`, userArn: ALICE });
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after'] ?? answer.headers['Retry-After']).toBe('5');
    expect(answer.body.code).toBe('logs_unavailable');
    expect(JSON.stringify(answer.body)).not.toContain(GROUP);
  });

  it('fails its cold start naming SANDBOX_LOG_STREAMS when it is missing or malformed', async () => {
    const { createLogsHandler } = await import('../../src/aws/logs.js');
    const env = functionEnv(table.tableName);
    expect(() => createLogsHandler(env)).toThrow(/SANDBOX_LOG_STREAMS: is required/);
    expect(() =>
      createLogsHandler({
        ...env,
        [ENV.logStreams]: JSON.stringify({
          default: { logGroupName: 'a:b', streamPrefix: 'x', containerName: 'c' },
        }),
      }),
    ).toThrow(/SANDBOX_LOG_STREAMS/);
  });
});
