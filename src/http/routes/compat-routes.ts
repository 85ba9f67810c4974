/**
 * The routes of the service this one replaces, mapped onto the same core with the same
 * authentication: `POST /api/v1/create`, `DELETE /api/v1/sandboxes/{chat_id}`, `GET /api/v1/health`.
 * A migration aid: fields keep their old snake_case names, a create waits (up to 25 s) for the
 * sandbox to run as the old service did, and `agent_id` defaults to the configured agent.
 */
import type { Context } from 'hono';
import { getOrCreate } from '../../core/get-or-create.js';
import type { ChatKey, Session } from '../../core/model.js';
import { SANDBOX_STATUSES } from '../../core/model.js';
import { deleteSandbox } from '../../core/sandbox-ops.js';
import * as z from '../../zod.js';
import type { AppDeps, Router } from '../app.js';
import { jsonBody, limitBody } from '../body.js';
import { defineRoute, RETRY_AFTER } from '../route.js';
import { AgentId, ChatParams, canonicalChatId } from '../schemas.js';
import { invalidRequest } from '../validation.js';

/** How long a create holds for the sandbox to run, as the old service's create did. */
const CREATE_WAIT_MS = 25_000;

const ChatIdField = ChatParams._zod.def.shape.chatId;

const CompatCreateBody = z
  .strictObject({
    chat_id: ChatIdField,
    agent_id: z.optional(AgentId),
    volume_host_path: z.optional(
      z.string().check(
        z.minLength(1),
        z.maxLength(4096),
        z.meta({
          description:
            "Local mode only, and only the chat's own directory (`<data folder>/chats/<tenant>/<chat id>`, absolute): the sandbox mounts it anyway. Any other path, and any path on AWS, is 422.",
        }),
      ),
    ),
  })
  .register(z.globalRegistry, { id: 'CompatCreateRequest' });

const CompatSandbox = z
  .object({
    session_id: z.string().check(z.meta({ format: 'uuid' })),
    chat_id: z.string().check(z.meta({ format: 'uuid' })),
    agent_id: z.string(),
    container_id: z.nullable(
      z.string().check(
        z.meta({
          description: 'The ECS task ARN on AWS, `local/<session id>` locally; null before the launch.',
        }),
      ),
    ),
    endpoint: z.nullable(z.object({ ip: z.string(), port: z.int().check(z.minimum(1), z.maximum(65_535)) })),
    status: z.enum(SANDBOX_STATUSES),
    expires_at: z.string().check(z.meta({ format: 'date-time' })),
  })
  .register(z.globalRegistry, { id: 'CompatSandbox' });

const CompatDeleteResponse = z
  .object({
    chat_id: z.string().check(z.meta({ format: 'uuid' })),
    result: z.enum(['deleted', 'not_found']),
    session_id: z.nullable(z.string().check(z.meta({ format: 'uuid' }))),
    container_id: z.nullable(z.string()),
  })
  .register(z.globalRegistry, { id: 'CompatDeleteResponse' });

const CompatHealth = z.object({ status: z.enum(['ok']) }).register(z.globalRegistry, { id: 'CompatHealth' });

export const compatCreateRoute = defineRoute({
  method: 'post',
  path: '/api/v1/create',
  operationId: 'compatCreateSandbox',
  tags: ['compatibility'],
  summary: "Get or create the chat's sandbox (the original service's route)",
  description:
    'As `PUT /v1/chats/{chatId}/sandbox` with `waitSeconds: 25`: answers 200 whether the sandbox was created or reused.',
  deprecated: true,
  body: { schema: CompatCreateBody, required: true },
  before: [limitBody, jsonBody({ optional: false })],
  answers: {
    200: { description: "The chat's sandbox, running unless it is still starting", schema: CompatSandbox },
    400: { description: 'Malformed JSON', problems: ['malformed_json'] },
    409: {
      description:
        'The chat has a live sandbox for another agent, belongs to another owner, or is being purged',
      problems: ['sandbox_conflict', 'owner_conflict', 'chat_purging'],
    },
    413: { description: 'Body over 64 KiB', problems: ['payload_too_large'] },
    415: { description: 'Body is not application/json', problems: ['unsupported_media_type'] },
    422: { description: 'Invalid request', problems: ['validation_failed', 'unknown_profile'] },
    429: {
      description: 'The tenant is at its live-sandbox limit; nothing was started',
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

export const compatDeleteRoute = defineRoute({
  method: 'delete',
  path: '/api/v1/sandboxes/{chat_id}',
  operationId: 'compatDeleteSandbox',
  tags: ['compatibility'],
  summary: "Stop the chat's live sandbox (the original service's route)",
  deprecated: true,
  params: z.object({ chat_id: ChatIdField }),
  answers: {
    200: { description: 'Deleted, or there was nothing live', schema: CompatDeleteResponse },
    422: { description: 'Invalid chat id', problems: ['validation_failed'] },
  },
});

export const compatHealthRoute = defineRoute({
  method: 'get',
  path: '/api/v1/health',
  operationId: 'compatGetHealth',
  tags: ['compatibility'],
  summary: "Liveness (the original service's route)",
  deprecated: true,
  authenticated: false,
  answers: { 200: { description: 'Alive', schema: CompatHealth } },
});

function compatSandbox(session: Session): z.infer<typeof CompatSandbox> {
  return {
    session_id: session.sessionId,
    chat_id: session.chatId,
    agent_id: session.agentId,
    container_id: session.runtimeRef,
    endpoint: session.endpoint ? { ip: session.endpoint.host, port: session.endpoint.port } : null,
    status: session.status,
    expires_at: new Date(session.expiresAt).toISOString(),
  };
}

/** 422 unless `path` is the chat's own directory on a host that has one. */
function checkVolumePath(path: string, key: ChatKey, chatDirectoryOf: AppDeps['chatDirectoryOf']): void {
  const own = chatDirectoryOf?.(key);
  if (own === undefined) {
    throw invalidRequest([
      {
        path: 'volume_host_path',
        message:
          "not supported here: each chat's directory is on the file system the stack manages; omit the field",
      },
    ]);
  }
  if (path.replace(/\/+$/, '') !== own) {
    throw invalidRequest([
      {
        path: 'volume_host_path',
        message: `only the chat's own directory can be mounted: ${own} (omit the field to use it)`,
      },
    ]);
  }
}

/** The health route of the original service; registered before authentication. */
export function registerCompatHealthRoute(router: Router): void {
  router.route(compatHealthRoute, (c) => c.json({ status: 'ok' as const }, 200));
}

/** The original service's create and delete. */
export function registerCompatRoutes(router: Router, { core, answerBy, chatDirectoryOf }: AppDeps): void {
  const keyOf = (c: Context, chatId: string): ChatKey => ({
    tenant: c.get('tenant'),
    chatId: canonicalChatId(chatId),
  });

  router.route(compatCreateRoute, async (c, { body }) => {
    const request = body!;
    const key = keyOf(c, request.chat_id);
    if (request.volume_host_path !== undefined)
      checkVolumePath(request.volume_host_path, key, chatDirectoryOf);
    const waitUntil = Math.min(core.clock.now() + CREATE_WAIT_MS, answerBy?.(c) ?? Number.POSITIVE_INFINITY);
    const result = await getOrCreate(core, {
      key,
      agentId: request.agent_id ?? core.config.defaultAgentId,
      waitUntil,
    });
    return c.json(compatSandbox(result.session), 200);
  });

  router.route(compatDeleteRoute, async (c, { params }) => {
    const key = keyOf(c, params.chat_id);
    const result = await deleteSandbox(core, key);
    const session = result.result === 'deleted' ? result.session : null;
    return c.json(
      {
        chat_id: key.chatId,
        result: result.result,
        session_id: session?.sessionId ?? null,
        container_id: session?.runtimeRef ?? null,
      },
      200,
    );
  });
}
