/**
 * zod schemas of the HTTP API (zod/mini: the api function's bundle carries only what it uses). They
 * validate requests and produce the OpenAPI 3.1 document (src/http/openapi.ts).
 */
import {
  ALLOWED_ENV_NAME_SOURCE,
  ENV_NAME,
  envNameViolation,
  FORBIDDEN_KEYS,
  RESERVED_ENV_PATTERNS,
} from '../core/env-policy.js';
import { ERROR_CODES } from '../core/errors.js';
import { AGENT_ID, SANDBOX_STATUSES, STOP_REASONS } from '../core/model.js';
import * as z from '../zod.js';

const UUID_TEXT =
  /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$/;

/** The canonical form of a chat id: lowercase, hyphenated. */
export function canonicalChatId(text: string): string {
  const hex = text.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const ChatParams = z.object({
  chatId: z.string().check(
    z.regex(UUID_TEXT, 'must be a UUID (hyphenated or 32 hex digits)'),
    z.meta({
      description:
        'The chat: a UUID, hyphenated or as 32 hex digits, any case; answers use lowercase hyphenated.',
      examples: ['11111111-1111-1111-1111-111111111111'],
    }),
  ),
});

/**
 * ECS accepts at most 8192 characters of container overrides (JSON) per RunTask; with the variables
 * the control plane adds and the JSON around each one, 6144 characters of names and values, counted
 * as they are escaped in JSON, always fit.
 */
export const MAX_ENV_CHARS = 6144;
export const MAX_ENV_NAMES = 50;
const jsonLength = (text: string) => JSON.stringify(text).length - 2;
const noNul = (text: string) => !text.includes('\0');
/** The document's form of `noNul`. */
const NO_NUL = { pattern: '^[^\\u0000]*$' };

const ENV_DESCRIPTION =
  `Variables for the sandbox process: at most ${MAX_ENV_NAMES}, values up to 4096 characters, names and ` +
  `values together at most ${MAX_ENV_CHARS} characters counted as escaped in JSON. Refused with 422, ` +
  'naming the variable: names outside ^[A-Z_][A-Z0-9_]{0,127}$, a NUL byte anywhere, and reserved names: ' +
  `${RESERVED_ENV_PATTERNS.join(', ')} (\`*\` matches any characters). ` +
  'A profile may also accept only the names on its own allow-list.';

const Env = z
  .record(
    // The document states the whole name rule (reserved names too) as one pattern; the server checks
    // it in two steps below, so each refusal says which rule it broke.
    z
      .string()
      .check(
        z.regex(ENV_NAME, 'env names match ^[A-Z_][A-Z0-9_]{0,127}$'),
        z.meta({ pattern: ALLOWED_ENV_NAME_SOURCE }),
      ),
    z.string().check(z.maxLength(4096), z.refine(noNul, 'env values must not contain NUL'), z.meta(NO_NUL)),
  )
  .check(
    z.refine((env) => Object.keys(env).length <= MAX_ENV_NAMES, `at most ${MAX_ENV_NAMES} variables`),
    z.refine(
      (env) =>
        Object.entries(env).reduce((total, [name, value]) => total + name.length + jsonLength(value), 0) <=
        MAX_ENV_CHARS,
      `names and values together at most ${MAX_ENV_CHARS} characters, counted as escaped in JSON`,
    ),
    z.superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        const problem = envNameViolation(name);
        if (problem) ctx.issues.push({ code: 'custom', path: [name], message: problem, input: name });
      }
    }),
    z.meta({
      description: ENV_DESCRIPTION,
      maxProperties: MAX_ENV_NAMES,
      examples: [{ LOG_LEVEL: 'debug' }],
    }),
  );

const MAX_METADATA_ENTRIES = 20;
const MetadataKey = z.string().check(
  z.minLength(1),
  z.maxLength(64),
  z.refine(noNul, 'metadata keys must not contain NUL'),
  z.refine((key) => !FORBIDDEN_KEYS.includes(key), `metadata keys must not be ${FORBIDDEN_KEYS.join(', ')}`),
  z.meta({ ...NO_NUL, not: { enum: [...FORBIDDEN_KEYS] } }),
);

const Metadata = z
  .record(
    MetadataKey,
    z
      .string()
      .check(z.maxLength(256), z.refine(noNul, 'metadata values must not contain NUL'), z.meta(NO_NUL)),
  )
  .check(
    z.refine((metadata) => Object.keys(metadata).length <= MAX_METADATA_ENTRIES, 'at most 20 entries'),
    z.meta({
      maxProperties: MAX_METADATA_ENTRIES,
      description: `Labels kept with the sandbox: at most ${MAX_METADATA_ENTRIES}, keys 1-64 characters (not ${FORBIDDEN_KEYS.join(', ')}), values up to 256; no NUL.`,
      examples: [{ team: 'search' }],
    }),
  );

const seconds = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

/** An end user of the calling platform. */
export const OWNER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** An owner id, as the routes that take one accept it. */
export const OwnerIdField = z.string().check(
  z.regex(OWNER_ID, '1-128 characters from A-Z a-z 0-9 . _ : @ -'),
  z.meta({
    description:
      'The end user the sandbox is for. A chat belongs to the owner of its first sandbox (or the first one named); another owner is 409 owner_conflict. Live sandboxes are limited per owner.',
    examples: ['user-42@example.com'],
  }),
);
const WaitSeconds = seconds(0, 25).check(
  z.meta({
    description:
      'Hold the answer up to this long (counted from arrival) while the sandbox is provisioning; 0 answers at once.',
    default: 0,
  }),
);

/** Which agent the sandbox runs (given to it as AGENT_ID). */
export const AgentId = z
  .string()
  .check(
    z.regex(AGENT_ID, '1-128 characters from A-Z a-z 0-9 . _ : -'),
    z.meta({ examples: ['agent-alpha'] }),
  );

export const GetOrCreateBody = z
  .strictObject({
    agentId: AgentId,
    profile: z.optional(
      z.string().check(
        z.minLength(1),
        z.maxLength(64),
        z.meta({
          description:
            "One of the deployment's profiles (the served document lists them); default: its default profile.",
          examples: ['default'],
        }),
      ),
    ),
    idleTimeoutSeconds: z.optional(
      seconds(1, 86_400).check(
        z.meta({
          description:
            "Stop after this long without a request for the sandbox (reuse or keepalive). The served document states this deployment's bounds and default.",
        }),
      ),
    ),
    maxLifetimeSeconds: z.optional(
      seconds(1, 86_400).check(
        z.meta({
          description:
            "Stop this long after creation whatever the activity; at least the idle timeout (422 otherwise). The served document states this deployment's bounds and default.",
        }),
      ),
    ),
    env: z.optional(Env),
    metadata: z.optional(Metadata),
    ownerId: z.optional(OwnerIdField),
    waitSeconds: z.optional(WaitSeconds),
  })
  .register(z.globalRegistry, { id: 'GetOrCreateRequest' });

export const KeepaliveBody = z
  .strictObject({
    idleTimeoutSeconds: z.optional(
      seconds(1, 86_400).check(
        z.meta({
          description:
            "A new idle timeout for the sandbox from now on; default: the sandbox's own. The expiry never passes its maximum lifetime.",
        }),
      ),
    ),
  })
  .register(z.globalRegistry, { id: 'KeepaliveRequest' });

export const GetQuery = z.object({ waitSeconds: z.optional(WaitSeconds) });

const STATUS = `(?:${SANDBOX_STATUSES.join('|')})`;
/** One status or a comma list of them, spaces around each allowed. */
const STATUS_LIST = new RegExp(`^ *${STATUS} *(?:, *${STATUS} *)*$`);

export const ListQuery = z.object({
  status: z.optional(
    z.string().check(
      z.regex(STATUS_LIST, `each status is one of ${SANDBOX_STATUSES.join(', ')}`),
      z.meta({
        description: `One status or a comma list of ${SANDBOX_STATUSES.join(', ')}.`,
        examples: ['running,provisioning'],
      }),
    ),
  ),
  agentId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  ownerId: z.optional(OwnerIdField),
  limit: z._default(seconds(1, 100), 50),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});

export const HealthQuery = z.object({ deep: z.optional(z.enum(['true', 'false'])) });

const IsoTime = z.string().check(z.meta({ format: 'date-time', examples: ['2026-11-22T01:02:03.456Z'] }));

const Uuid = z.string().check(z.meta({ format: 'uuid' }));

export const Sandbox = z
  .object({
    chatId: Uuid,
    sessionId: Uuid,
    agentId: z.string(),
    profile: z.string(),
    ownerId: z.nullable(z.string()),
    status: z.enum(SANDBOX_STATUSES),
    endpoint: z.nullable(
      z.object({ host: z.string(), port: z.int().check(z.minimum(1), z.maximum(65_535)) }).check(
        z.meta({
          description:
            "Where the agent listens: the task's private IP on AWS, 127.0.0.1 locally; null until running and after stopping.",
        }),
      ),
    ),
    createdAt: IsoTime,
    lastActiveAt: IsoTime,
    expiresAt: IsoTime,
    maxExpiresAt: IsoTime,
    stoppedAt: z.nullable(IsoTime),
    stopReason: z.nullable(z.enum(STOP_REASONS)),
    metadata: z.record(z.string(), z.string()),
  })
  .register(z.globalRegistry, { id: 'Sandbox' });

export const SandboxEnvelope = z
  .object({ sandbox: Sandbox })
  .register(z.globalRegistry, { id: 'SandboxResponse' });
export const GetOrCreateResponse = z
  .object({ sandbox: Sandbox, created: z.boolean() })
  .register(z.globalRegistry, { id: 'GetOrCreateResponse' });
export const DeleteResponse = z
  .object({ result: z.enum(['deleted', 'not_found']), sandbox: z.optional(Sandbox) })
  .register(z.globalRegistry, { id: 'DeleteResponse' });
export const ListResponse = z
  .object({ items: z.array(Sandbox), nextCursor: z.nullable(z.string()) })
  .register(z.globalRegistry, { id: 'SandboxList' });
export const HealthResponse = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    checks: z.optional(z.record(z.string(), z.string())),
  })
  .register(z.globalRegistry, { id: 'Health' });

const DATE = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;
const Day = z.string().check(z.regex(DATE, 'a date, YYYY-MM-DD'), z.meta({ format: 'date' }));

export const UsageQuery = z.object({
  ownerId: z.optional(OwnerIdField),
  from: z.optional(Day.check(z.meta({ description: 'First day (UTC), default 6 days before `to`.' }))),
  to: z.optional(Day.check(z.meta({ description: 'Last day (UTC), default today.' }))),
});

const LiveCount = z.object({ live: z.int(), limit: z.int() });
const DayTotals = z.object({
  date: Day,
  sessions: z.int(),
  sandboxSeconds: z.number(),
  vcpuSeconds: z.number(),
  gibSeconds: z.number(),
});

export const UsageResponse = z
  .object({
    tenant: LiveCount,
    owner: z.nullable(z.object({ ownerId: z.string(), live: z.int(), limit: z.int() })),
    from: Day,
    to: Day,
    days: z.array(DayTotals),
    storage: z.nullable(
      z
        .object({
          scope: z.enum(['owner', 'unowned']),
          usedBytes: z.int(),
          limitBytes: z.int(),
          chats: z.int(),
        })
        .check(
          z.meta({
            description:
              "Chat storage of the owner (with ownerId) or of the tenant's unowned chats, as last measured: every write through the API measures its chat, what a sandbox writes counts from the next measurement. Null where chat storage is not served.",
          }),
        ),
    ),
  })
  .register(z.globalRegistry, { id: 'Usage' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    code: z.enum(ERROR_CODES),
    detail: z.string(),
    errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
    quota: z.optional(
      z
        .object({ limitBytes: z.int(), usedBytes: z.int() })
        .check(
          z.meta({ description: "workspace_quota_exceeded: the owner's byte quota and the bytes held now." }),
        ),
    ),
    limit: z.optional(
      z.object({ scope: z.enum(['tenant', 'owner']), max: z.int(), current: z.int() }).check(
        z.meta({
          description: 'quota_exceeded: which limit, its value, and the live sandboxes it counts now.',
        }),
      ),
    ),
  })
  .register(z.globalRegistry, { id: 'Problem' });
