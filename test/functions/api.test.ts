import { createHash } from 'node:crypto';
import { ECSClient, ECSServiceException, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestTable } from '../support/dynamo.js';
import { type HttpRequest, httpApiEvent, lambdaContext } from './events.js';
import {
  type ApiAnswer,
  acceptRunTask,
  acceptVolumeCreation,
  coldStart,
  functionEnv,
  parseAnswer,
} from './harness.js';

const ecsMock = mockClient(ECSClient);
const efsMock = mockClient(EFSClient);

type ApiModule = typeof import('../../functions/api.js');
let tableName: string;
let api: ApiModule['handler'];

async function call(request: HttpRequest): Promise<ApiAnswer> {
  const event = httpApiEvent(request) as unknown as LambdaEvent;
  return parseAnswer(await api(event, lambdaContext('sandbox-api')));
}

const chatPath = (chatId: string) => `/v1/chats/${chatId}/sandbox`;
const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';

beforeAll(async () => {
  tableName = (await createTestTable()).tableName;
  coldStart(functionEnv(tableName));
  api = (await import('../../functions/api.js')).handler;
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  ecsMock.reset();
  efsMock.reset();
  acceptVolumeCreation(ecsMock, efsMock);
  acceptRunTask(ecsMock);
});

describe('api function (IAM authorizer)', () => {
  it('creates a sandbox for the signed caller: 201 provisioning, one task launched for it', async () => {
    const chatId = crypto.randomUUID();
    const answer = await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-alpha' },
      userArn: ALICE,
    });

    expect(answer.statusCode).toBe(201);
    expect(answer.body).toMatchObject({
      created: true,
      sandbox: { chatId, status: 'provisioning', endpoint: null },
    });
    const run = ecsMock.commandCalls(RunTaskCommand);
    expect(run).toHaveLength(1);
    const sessionId = (answer.body.sandbox as { sessionId: string }).sessionId;
    expect(run[0]!.args[0].input.clientToken).toBe(sessionId);
    expect(run[0]!.args[0].input.tags).toContainEqual({ key: 'sandbox:tenant', value: ALICE });
  });

  it('ends a long-poll before the function times out, answering the sandbox still provisioning', async () => {
    const event = httpApiEvent({
      method: 'PUT',
      path: chatPath(crypto.randomUUID()),
      body: { agentId: 'agent-alpha', waitSeconds: 25 },
      userArn: ALICE,
    }) as unknown as LambdaEvent;
    const started = Date.now();
    // 3 s left: the answer must come before the function is cut off, not after 25 s.
    const answer = parseAnswer(await api(event, lambdaContext('sandbox-api', 3_000)));
    expect(answer.statusCode).toBe(201);
    expect(answer.body).toMatchObject({ sandbox: { status: 'provisioning' } });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reuses the live sandbox on the next call: 200 with the same session and no new task', async () => {
    const chatId = crypto.randomUUID();
    const first = await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-alpha' },
      userArn: ALICE,
    });
    const second = await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-alpha' },
      userArn: ALICE,
    });

    expect(second.statusCode).toBe(200);
    expect(second.body).toMatchObject({ created: false });
    expect((second.body.sandbox as { sessionId: string }).sessionId).toBe(
      (first.body.sandbox as { sessionId: string }).sessionId,
    );
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it('answers 409 sandbox_conflict when the chat has a live sandbox for another agent', async () => {
    const chatId = crypto.randomUUID();
    await call({ method: 'PUT', path: chatPath(chatId), body: { agentId: 'agent-alpha' }, userArn: ALICE });
    const answer = await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-beta' },
      userArn: ALICE,
    });

    expect(answer.statusCode).toBe(409);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.body).toMatchObject({ status: 409, code: 'sandbox_conflict' });
  });

  it('answers 401 to a request with neither an IAM principal nor a bearer token', async () => {
    const answer = await call({ method: 'GET', path: '/v1/sandboxes', userArn: null });
    expect(answer.statusCode).toBe(401);
    expect(answer.body).toMatchObject({ code: 'unauthorized' });
  });

  it("never shows one principal another principal's sandbox", async () => {
    const chatId = crypto.randomUUID();
    await call({ method: 'PUT', path: chatPath(chatId), body: { agentId: 'agent-alpha' }, userArn: ALICE });
    const answer = await call({ method: 'GET', path: chatPath(chatId), userArn: BOB });
    expect(answer.statusCode).toBe(404);
    expect(answer.body).toMatchObject({ code: 'sandbox_not_found' });
  });

  it('treats every session of one assumed role as one tenant', async () => {
    const chatId = crypto.randomUUID();
    const role = (session: string) => `arn:aws:sts::111122223333:assumed-role/agent-runtime/${session}`;
    await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-alpha' },
      userArn: role('i-0abc'),
    });
    const answer = await call({ method: 'GET', path: chatPath(chatId), userArn: role('i-0def') });
    expect(answer.statusCode).toBe(200);
    expect(ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input.tags).toContainEqual({
      key: 'sandbox:tenant',
      value: 'arn:aws:iam::111122223333:role/agent-runtime',
    });
  });

  it('answers 422 validation_failed for an invalid chat id and for unknown body fields', async () => {
    const badChat = await call({
      method: 'PUT',
      path: chatPath('not-a-uuid'),
      body: { agentId: 'a' },
      userArn: ALICE,
    });
    expect(badChat.statusCode).toBe(422);
    expect(badChat.body).toMatchObject({ code: 'validation_failed' });
    const unknown = await call({
      method: 'PUT',
      path: chatPath(crypto.randomUUID()),
      body: { agentId: 'a', color: 'blue' },
      userArn: ALICE,
    });
    expect(unknown.statusCode).toBe(422);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it("answers with API Gateway's request id as X-Request-Id, or the caller's own", async () => {
    const event = httpApiEvent({
      method: 'GET',
      path: '/v1/health',
      userArn: null,
    }) as unknown as LambdaEvent & {
      requestContext: { requestId: string };
    };
    const own = parseAnswer(await api(event, lambdaContext('sandbox-api')));
    expect(own.headers['x-request-id']).toBe(event.requestContext.requestId);
    const echoed = await call({
      method: 'GET',
      path: '/v1/health',
      userArn: null,
      headers: { 'x-request-id': 'caller-trace-1' },
    });
    expect(echoed.headers['x-request-id']).toBe('caller-trace-1');
  });

  it('answers 405 with Allow for the paths another function serves, under another method', async () => {
    const answer = await call({
      method: 'DELETE',
      path: `/v1/chats/${crypto.randomUUID()}/sandbox/logs`,
      userArn: ALICE,
    });
    expect(answer.statusCode).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
    // The storage function's paths: API Gateway sends it only the methods it serves.
    const chat = `/v1/chats/${crypto.randomUUID()}`;
    const file = await call({ method: 'PATCH', path: `${chat}/file`, userArn: ALICE });
    expect(file.statusCode).toBe(405);
    expect(file.headers.allow).toBe('DELETE, GET, HEAD, PUT');
    const purge = await call({ method: 'POST', path: chat, userArn: ALICE });
    expect(purge.headers.allow).toBe('DELETE');
  });

  it("shows the owners' storage quota in GET /v1/usage, from the figures the storage function keeps", async () => {
    const answer = await call({ method: 'GET', path: '/v1/usage', userArn: ALICE });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ storage: { limitBytes: 1024 * 1024 * 1024 } });
  });

  it('answers the health route without credentials', async () => {
    const answer = await call({ method: 'GET', path: '/v1/health', userArn: null });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok' });
  });

  it('answers 503 launch_failed with Retry-After when RunTask reports failures[], and the session ends failed', async () => {
    ecsMock
      .on(RunTaskCommand)
      .resolves({ tasks: [], failures: [{ reason: 'ATTRIBUTE', detail: 'unsupported' }] });
    const chatId = crypto.randomUUID();
    const answer = await call({
      method: 'PUT',
      path: chatPath(chatId),
      body: { agentId: 'agent-alpha' },
      userArn: ALICE,
    });

    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
    expect(answer.body).toMatchObject({ code: 'launch_failed' });
    expect(JSON.stringify(answer.body)).not.toContain('ATTRIBUTE');
    const after = await call({ method: 'GET', path: chatPath(chatId), userArn: ALICE });
    expect(after.body).toMatchObject({ sandbox: { status: 'failed', stopReason: 'launch_failed' } });
  });

  it('keeps the sandbox provisioning for the reconciler when RunTask stays throttled', async () => {
    ecsMock.on(RunTaskCommand).rejects(
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    const answer = await call({
      method: 'PUT',
      path: chatPath(crypto.randomUUID()),
      body: { agentId: 'agent-alpha' },
      userArn: ALICE,
    });
    expect(answer.statusCode).toBe(201);
    expect(answer.body).toMatchObject({ sandbox: { status: 'provisioning' } });
  });

  it('stops the task when a sandbox is deleted', async () => {
    ecsMock.on(StopTaskCommand).resolves({});
    const chatId = crypto.randomUUID();
    await call({ method: 'PUT', path: chatPath(chatId), body: { agentId: 'agent-alpha' }, userArn: ALICE });
    const answer = await call({ method: 'DELETE', path: chatPath(chatId), userArn: ALICE });
    expect(answer.body).toMatchObject({
      result: 'deleted',
      sandbox: { status: 'stopping', stopReason: 'deleted' },
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(1);
  });
});

describe('api function (bearer tokens)', () => {
  const TOKEN = 'token-for-acme-0123456789';
  let tokenApi: ApiModule['handler'];

  beforeAll(async () => {
    const hash = createHash('sha256').update(TOKEN).digest('hex');
    coldStart(
      functionEnv(tableName, {
        SANDBOX_AUTH_MODE: 'token',
        SANDBOX_API_TOKENS: JSON.stringify({ [hash]: 'acme' }),
      }),
    );
    tokenApi = (await import('../../functions/api.js')).handler;
  });

  const callWith = async (request: HttpRequest) =>
    parseAnswer(
      await tokenApi(httpApiEvent(request) as unknown as LambdaEvent, lambdaContext('sandbox-api')),
    );

  it('takes the tenant from a known bearer token', async () => {
    const answer = await callWith({
      method: 'PUT',
      path: chatPath(crypto.randomUUID()),
      body: { agentId: 'agent-alpha' },
      headers: { authorization: `Bearer ${TOKEN}` },
      userArn: null,
    });
    expect(answer.statusCode).toBe(201);
    expect(ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input.tags).toContainEqual({
      key: 'sandbox:tenant',
      value: 'acme',
    });
  });

  it('answers 401 to an unknown token', async () => {
    const answer = await callWith({
      method: 'GET',
      path: '/v1/sandboxes',
      headers: { authorization: 'Bearer not-a-token' },
      userArn: null,
    });
    expect(answer.statusCode).toBe(401);
  });
});
