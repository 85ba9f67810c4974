import type { Context } from 'hono';
import { getOrCreate } from '../../core/get-or-create.js';
import type { SandboxStatus } from '../../core/model.js';
import { deleteSandbox, getSandbox, keepalive, listSandboxes } from '../../core/sandbox-ops.js';
import * as z from '../../zod.js';
import type { AppDeps, Router } from '../app.js';
import { jsonBody, limitBody } from '../body.js';
import { renderSandbox } from '../render.js';
import { defineRoute, RETRY_AFTER } from '../route.js';
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
  SandboxEnvelope,
} from '../schemas.js';

const SANDBOX_PATH = '/v1/chats/{chatId}/sandbox';

export const putSandboxRoute = defineRoute({
  method: 'put',
  path: SANDBOX_PATH,
  operationId: 'getOrCreateSandbox',
  tags: ['sandboxes'],
  summary: "Get or create the chat's sandbox",
  params: ChatParams,
  body: { schema: GetOrCreateBody, required: true },
  before: [limitBody, jsonBody({ optional: false })],
  answers: {
    200: { description: 'The live sandbox was reused', schema: GetOrCreateResponse },
    201: {
      description: 'A new sandbox was started',
      schema: GetOrCreateResponse,
      headers: {
        Location: { description: "The sandbox's URL: `/v1/chats/{chatId}/sandbox`", schema: z.string() },
      },
    },
    400: { description: 'Malformed JSON', problems: ['malformed_json'] },
    409: {
      description:
        'The chat has a live sandbox for another agent or profile, belongs to another owner, or is being purged',
      problems: ['sandbox_conflict', 'owner_conflict', 'chat_purging'],
    },
    413: { description: 'Body over 64 KiB', problems: ['payload_too_large'] },
    415: { description: 'Body is not application/json', problems: ['unsupported_media_type'] },
    422: { description: 'Invalid request', problems: ['validation_failed', 'unknown_profile'] },
    429: {
      description: 'The tenant or the owner is at its live-sandbox limit; nothing was started or changed',
      problems: ['quota_exceeded'],
      headers: RETRY_AFTER,
    },
    503: {
      description: 'Launch failed or capacity unavailable',
      problems: ['launch_failed', 'capacity_unavailable'],
      headers: RETRY_AFTER,
    },
  },
});

export const getSandboxRoute = defineRoute({
  method: 'get',
  path: SANDBOX_PATH,
  operationId: 'getSandbox',
  tags: ['sandboxes'],
  summary: "The chat's latest sandbox; waitSeconds holds while it is provisioning",
  params: ChatParams,
  query: GetQuery,
  answers: {
    200: { description: 'The sandbox', schema: SandboxEnvelope },
    404: { description: 'No sandbox', problems: ['sandbox_not_found'] },
    422: { description: 'Invalid request', problems: ['validation_failed'] },
  },
});

export const keepaliveRoute = defineRoute({
  method: 'post',
  path: `${SANDBOX_PATH}/keepalive`,
  operationId: 'keepaliveSandbox',
  tags: ['sandboxes'],
  summary: 'Push the idle expiry out',
  params: ChatParams,
  body: { schema: KeepaliveBody, required: false },
  before: [limitBody, jsonBody({ optional: true })],
  answers: {
    200: { description: 'The sandbox with its new expiry', schema: SandboxEnvelope },
    400: { description: 'Malformed JSON', problems: ['malformed_json'] },
    404: { description: 'No live sandbox', problems: ['sandbox_not_found'] },
    413: { description: 'Body over 64 KiB', problems: ['payload_too_large'] },
    415: { description: 'Body is not application/json', problems: ['unsupported_media_type'] },
    422: { description: 'Invalid request', problems: ['validation_failed'] },
    503: {
      description: 'The chat stayed contended',
      problems: ['capacity_unavailable'],
      headers: RETRY_AFTER,
    },
  },
});

export const deleteSandboxRoute = defineRoute({
  method: 'delete',
  path: SANDBOX_PATH,
  operationId: 'deleteSandbox',
  tags: ['sandboxes'],
  summary: 'Stop the live sandbox; chat storage stays',
  params: ChatParams,
  answers: {
    200: { description: 'Deleted, or there was nothing live', schema: DeleteResponse },
    422: { description: 'Invalid request', problems: ['validation_failed'] },
  },
});

export const listSandboxesRoute = defineRoute({
  method: 'get',
  path: '/v1/sandboxes',
  operationId: 'listSandboxes',
  tags: ['sandboxes'],
  summary: "The tenant's sandboxes, newest first",
  query: ListQuery,
  answers: {
    200: { description: 'A page of sandboxes', schema: ListResponse },
    422: { description: 'Invalid request', problems: ['validation_failed', 'invalid_cursor'] },
  },
});

/** The sandbox routes; each parses its input and calls one core operation. */
export function registerSandboxRoutes(app: Router, { core, answerBy }: AppDeps): void {
  const chatKey = (c: Context, chatId: string) => ({
    tenant: c.get('tenant'),
    chatId: canonicalChatId(chatId),
  });
  /** When a long-poll must end: `waitSeconds` from the request's arrival, or sooner if the host needs it. */
  const waitUntil = (c: Context, waitSeconds: number | undefined) =>
    waitSeconds
      ? Math.min(core.clock.now() + waitSeconds * 1000, answerBy?.(c) ?? Number.POSITIVE_INFINITY)
      : undefined;

  app.route(putSandboxRoute, async (c, { params, body }) => {
    const { waitSeconds, ...request } = body!;
    const until = waitUntil(c, waitSeconds);
    const result = await getOrCreate(core, {
      key: chatKey(c, params.chatId),
      ...request,
      ...(until === undefined ? {} : { waitUntil: until }),
    });
    const payload = { sandbox: renderSandbox(result.session), created: result.created };
    if (!result.created) return c.json(payload, 200);
    c.header('Location', `/v1/chats/${result.session.chatId}/sandbox`);
    return c.json(payload, 201);
  });

  app.route(getSandboxRoute, async (c, { params, query }) => {
    const session = await getSandbox(core, chatKey(c, params.chatId), waitUntil(c, query.waitSeconds));
    return c.json({ sandbox: renderSandbox(session) }, 200);
  });

  app.route(keepaliveRoute, async (c, { params, body }) => {
    const session = await keepalive(core, chatKey(c, params.chatId), body?.idleTimeoutSeconds);
    return c.json({ sandbox: renderSandbox(session) }, 200);
  });

  app.route(deleteSandboxRoute, async (c, { params }) => {
    const result = await deleteSandbox(core, chatKey(c, params.chatId));
    return result.result === 'deleted'
      ? c.json({ result: 'deleted' as const, sandbox: renderSandbox(result.session) }, 200)
      : c.json({ result: 'not_found' as const }, 200);
  });

  app.route(listSandboxesRoute, async (c, { query }) => {
    const statuses = query.status?.split(',').map((status) => status.trim() as SandboxStatus);
    const page = await listSandboxes(core, c.get('tenant'), {
      limit: query.limit,
      ...(statuses ? { statuses } : {}),
      ...(query.agentId ? { agentId: query.agentId } : {}),
      ...(query.ownerId ? { ownerId: query.ownerId } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return c.json({ items: page.items.map(renderSandbox), nextCursor: page.nextCursor }, 200);
  });
}
