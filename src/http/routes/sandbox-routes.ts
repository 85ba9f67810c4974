import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getOrCreate } from '../../core/get-or-create.js';
import type { SandboxStatus } from '../../core/model.js';
import { deleteSandbox, getSandbox, keepalive, listSandboxes } from '../../core/sandbox-ops.js';
import type { App, AppDeps, AppEnv } from '../app.js';
import { jsonBody, limitBody } from '../body.js';
import { renderSandbox } from '../render.js';
import {
  ChatParams,
  canonicalChatId,
  DeleteResponse,
  GetOrCreateBody,
  GetOrCreateResponse,
  GetQuery,
  KeepaliveBody,
  ListQuery,
  ListResponse,
  ProblemSchema,
  SandboxEnvelope,
} from '../schemas.js';

const SANDBOX_PATH = '/v1/chats/{chatId}/sandbox';
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});
const json = <T>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});
const COMMON_ERRORS = { 401: problem('Missing or invalid credentials'), 422: problem('Invalid request') };

const putSandbox = createRoute({
  method: 'put',
  path: SANDBOX_PATH,
  summary: "Get or create the chat's sandbox",
  middleware: [limitBody, jsonBody({ optional: false })] as const,
  request: {
    params: ChatParams,
    body: { required: true, content: { 'application/json': { schema: GetOrCreateBody } } },
  },
  responses: {
    200: json('The live sandbox was reused', GetOrCreateResponse),
    201: json('A new sandbox was started', GetOrCreateResponse),
    ...COMMON_ERRORS,
    400: problem('Malformed JSON'),
    409: problem('The chat has a live sandbox for another agent or profile'),
    413: problem('Body over 64 KiB'),
    415: problem('Body is not application/json'),
    503: problem('Launch failed or capacity unavailable; see Retry-After'),
  },
});

const getSandboxRoute = createRoute({
  method: 'get',
  path: SANDBOX_PATH,
  summary: "The chat's latest sandbox; waitSeconds holds while it is provisioning",
  request: { params: ChatParams, query: GetQuery },
  responses: { 200: json('The sandbox', SandboxEnvelope), ...COMMON_ERRORS, 404: problem('No sandbox') },
});

const keepaliveRoute = createRoute({
  method: 'post',
  path: `${SANDBOX_PATH}/keepalive`,
  summary: 'Push the idle expiry out',
  middleware: [limitBody, jsonBody({ optional: true })] as const,
  request: {
    params: ChatParams,
    body: { required: false, content: { 'application/json': { schema: KeepaliveBody } } },
  },
  responses: {
    200: json('The sandbox with its new expiry', SandboxEnvelope),
    ...COMMON_ERRORS,
    400: problem('Malformed JSON'),
    404: problem('No live sandbox'),
    413: problem('Body over 64 KiB'),
    415: problem('Body is not application/json'),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: SANDBOX_PATH,
  summary: 'Stop the live sandbox; chat storage stays',
  request: { params: ChatParams },
  responses: { 200: json('Deleted, or there was nothing live', DeleteResponse), ...COMMON_ERRORS },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/sandboxes',
  summary: "The tenant's sandboxes, newest first",
  request: { query: ListQuery },
  responses: { 200: json('A page of sandboxes', ListResponse), ...COMMON_ERRORS },
});

/** The sandbox routes of API.md; each parses its input and calls one core operation. */
export function registerSandboxRoutes(app: App, { core, answerBy }: AppDeps): void {
  const chatKey = (tenant: string, chatId: string) => ({ tenant, chatId: canonicalChatId(chatId) });
  /** When a long-poll must end: `waitSeconds` from the request's arrival, or sooner if the host needs it. */
  const waitUntil = (c: Context<AppEnv>, waitSeconds: number | undefined) =>
    waitSeconds
      ? Math.min(core.clock.now() + waitSeconds * 1000, answerBy?.(c) ?? Number.POSITIVE_INFINITY)
      : undefined;

  app.openapi(putSandbox, async (c) => {
    const { waitSeconds, ...body } = c.req.valid('json');
    const until = waitUntil(c, waitSeconds);
    const result = await getOrCreate(core, {
      key: chatKey(c.get('tenant'), c.req.valid('param').chatId),
      ...body,
      ...(until === undefined ? {} : { waitUntil: until }),
    });
    const payload = { sandbox: renderSandbox(result.session), created: result.created };
    return result.created ? c.json(payload, 201) : c.json(payload, 200);
  });

  app.openapi(getSandboxRoute, async (c) => {
    const key = chatKey(c.get('tenant'), c.req.valid('param').chatId);
    const session = await getSandbox(core, key, waitUntil(c, c.req.valid('query').waitSeconds));
    return c.json({ sandbox: renderSandbox(session) }, 200);
  });

  app.openapi(keepaliveRoute, async (c) => {
    const key = chatKey(c.get('tenant'), c.req.valid('param').chatId);
    const body = (c.req.valid('json') ?? {}) as { idleTimeoutSeconds?: number };
    const session = await keepalive(core, key, body.idleTimeoutSeconds);
    return c.json({ sandbox: renderSandbox(session) }, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const result = await deleteSandbox(core, chatKey(c.get('tenant'), c.req.valid('param').chatId));
    return result.result === 'deleted'
      ? c.json({ result: 'deleted' as const, sandbox: renderSandbox(result.session) }, 200)
      : c.json({ result: 'not_found' as const }, 200);
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const statuses = query.status?.split(',').map((status) => status.trim() as SandboxStatus);
    const page = await listSandboxes(core, c.get('tenant'), {
      limit: query.limit,
      ...(statuses ? { statuses } : {}),
      ...(query.agentId ? { agentId: query.agentId } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return c.json({ items: page.items.map(renderSandbox), nextCursor: page.nextCursor }, 200);
  });
}
