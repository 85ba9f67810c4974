/** zod schemas of the HTTP API: they validate requests and produce the OpenAPI 3.1 document. */
import { z } from '@hono/zod-openapi';
import { ENV_NAME, envNameViolation, FORBIDDEN_KEYS, RESERVED_ENV_PATTERNS } from '../core/env-policy.js';
import { SANDBOX_STATUSES, STOP_REASONS } from '../core/model.js';

const UUID_TEXT =
  /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$/;

/** The canonical form of a chat id: lowercase, hyphenated. */
export function canonicalChatId(text: string): string {
  const hex = text.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const ChatParams = z.object({
  chatId: z
    .string()
    .regex(UUID_TEXT, 'must be a UUID (hyphenated or 32 hex digits)')
    .openapi({ param: { name: 'chatId', in: 'path' }, example: '11111111-1111-1111-1111-111111111111' }),
});

/**
 * ECS accepts at most 8192 characters of container overrides (JSON) per RunTask; with the variables
 * the control plane adds and the JSON around each one, 6144 characters of names and values, counted
 * as they are escaped in JSON, always fit.
 */
const MAX_ENV_CHARS = 6144;
const jsonLength = (text: string) => JSON.stringify(text).length - 2;
const noNul = (text: string) => !text.includes('\0');

const ENV_DESCRIPTION =
  'Variables for the sandbox process. Refused with 422, naming the variable: names outside ' +
  '^[A-Z_][A-Z0-9_]{0,127}$, a NUL byte anywhere, and reserved names: ' +
  `${RESERVED_ENV_PATTERNS.join(', ')} (\`*\` matches any characters). ` +
  'A profile may also accept only the names on its own allow-list.';

const Env = z
  .record(
    z.string().regex(ENV_NAME, 'env names match ^[A-Z_][A-Z0-9_]{0,127}$'),
    z.string().max(4096).refine(noNul, 'env values must not contain NUL'),
  )
  .refine((env) => Object.keys(env).length <= 50, 'at most 50 variables')
  .refine(
    (env) =>
      Object.entries(env).reduce((total, [name, value]) => total + name.length + jsonLength(value), 0) <=
      MAX_ENV_CHARS,
    `names and values together at most ${MAX_ENV_CHARS} characters, counted as escaped in JSON`,
  )
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      const problem = envNameViolation(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .openapi({ description: ENV_DESCRIPTION, example: { LOG_LEVEL: 'debug' } });

const MetadataKey = z
  .string()
  .min(1)
  .max(64)
  .refine(noNul, 'metadata keys must not contain NUL')
  .refine((key) => !FORBIDDEN_KEYS.includes(key), `metadata keys must not be ${FORBIDDEN_KEYS.join(', ')}`);

const Metadata = z
  .record(MetadataKey, z.string().max(256).refine(noNul, 'metadata values must not contain NUL'))
  .refine((metadata) => Object.keys(metadata).length <= 20, 'at most 20 entries')
  .openapi({ example: { team: 'search' } });

const Seconds = z.number().int();
const WaitSeconds = z.number().int().min(0).max(25);

export const GetOrCreateBody = z
  .strictObject({
    agentId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, '1-128 characters from A-Z a-z 0-9 . _ : -')
      .openapi({ example: 'agent-alpha' }),
    profile: z.string().min(1).max(64).optional().openapi({ example: 'default' }),
    idleTimeoutSeconds: Seconds.min(1).max(86_400).optional(),
    maxLifetimeSeconds: Seconds.min(1).max(86_400).optional(),
    env: Env.optional(),
    metadata: Metadata.optional(),
    waitSeconds: WaitSeconds.optional(),
  })
  .openapi('GetOrCreateRequest');

export const KeepaliveBody = z
  .strictObject({ idleTimeoutSeconds: Seconds.min(1).max(86_400).optional() })
  .openapi('KeepaliveRequest');

const WaitQuery = z.coerce.number().int().min(0).max(25);

export const GetQuery = z.object({
  waitSeconds: WaitQuery.optional().openapi({ param: { name: 'waitSeconds', in: 'query' } }),
});

export const ListQuery = z.object({
  status: z
    .string()
    .refine(
      (text) =>
        text.split(',').every((status) => (SANDBOX_STATUSES as readonly string[]).includes(status.trim())),
      `each status is one of ${SANDBOX_STATUSES.join(', ')}`,
    )
    .optional()
    .openapi({ param: { name: 'status', in: 'query' }, example: 'running,provisioning' }),
  agentId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ param: { name: 'agentId', in: 'query' } }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .openapi({ param: { name: 'limit', in: 'query' } }),
  cursor: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' } }),
});

export const HealthQuery = z.object({
  deep: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ param: { name: 'deep', in: 'query' } }),
});

const IsoTime = z.string().openapi({ format: 'date-time', example: '2026-11-22T01:02:03.456Z' });

export const Sandbox = z
  .object({
    chatId: z.string(),
    sessionId: z.string(),
    agentId: z.string(),
    profile: z.string(),
    status: z.enum(SANDBOX_STATUSES),
    endpoint: z.object({ host: z.string(), port: z.number().int() }).nullable(),
    createdAt: IsoTime,
    lastActiveAt: IsoTime,
    expiresAt: IsoTime,
    maxExpiresAt: IsoTime,
    stoppedAt: IsoTime.nullable(),
    stopReason: z.enum(STOP_REASONS).nullable(),
    metadata: z.record(z.string(), z.string()),
  })
  .openapi('Sandbox');

export const SandboxEnvelope = z.object({ sandbox: Sandbox }).openapi('SandboxResponse');
export const GetOrCreateResponse = z
  .object({ sandbox: Sandbox, created: z.boolean() })
  .openapi('GetOrCreateResponse');
export const DeleteResponse = z
  .object({ result: z.enum(['deleted', 'not_found']), sandbox: Sandbox.optional() })
  .openapi('DeleteResponse');
export const ListResponse = z
  .object({ items: z.array(Sandbox), nextCursor: z.string().nullable() })
  .openapi('SandboxList');
export const HealthResponse = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    checks: z.record(z.string(), z.string()).optional(),
  })
  .openapi('Health');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');
