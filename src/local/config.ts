import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalProfile } from '../adapters/local/local-runtime.js';
import { ConfigError, envAllowList, integer, json, parseSections, section } from '../config/env.js';
import { HealthCheckSchema, healthCheckedProfiles } from '../config/health-check.js';
import {
  LOCAL_LIFECYCLE_DEFAULTS,
  lifecycleSection,
  profileNames,
  profileSizes,
  withProfiles,
} from '../config/lifecycle.js';
import { DEFAULT_OWNER_STORAGE_BYTES, type StorageConfig } from '../core/chat-files-port.js';
import type { LifecycleConfig } from '../core/lifecycle.js';
import { TENANT_PATTERN } from '../core/model.js';
import { ENV } from '../names.js';
import * as z from '../zod.js';
import { StartupError } from './startup-error.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const LocalProfileSchema = z.strictObject({
  command: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
  envAllow: envAllowList,
  /** A nominal size for the usage ledger; local processes have no size of their own. */
  vcpu: z.optional(z.number().check(z.minimum(0), z.maximum(192))),
  memoryGiB: z.optional(z.number().check(z.minimum(0), z.maximum(1536))),
  /** What makes its sandboxes running: `{ "path": "/health" }` or `{ "command": [...] }`, with ECS's timings. */
  healthCheck: z.optional(HealthCheckSchema),
});

const Tokens = z.record(
  z.string().check(z.regex(/^[0-9a-f]{64}$/, 'keys are sha256 hex digests')),
  z.string().check(z.regex(TENANT_PATTERN, 'tenants are 1-256 of [A-Za-z0-9._:/@+=,-]')),
);

const LocalProfiles = z.record(
  z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'profile names are 1-64 of [A-Za-z0-9._-]')),
  LocalProfileSchema,
);

const optionalText = (schema: z.ZodMiniString<string>) => z.optional(z.pipe(z.string(), schema));

/** Local mode's own variables; the lifecycle ones are the functions' (src/config/lifecycle.ts). */
const localSection = section({
  shape: {
    PORT: integer(8123, 0, 65_535),
    HOST: z._default(z.string().check(z.minLength(1)), '127.0.0.1'),
    SANDBOX_API_TOKEN: optionalText(
      z
        .string()
        .check(z.minLength(8, 'must be at least 8 characters'), z.regex(/^\S+$/, 'must not contain spaces')),
    ),
    /** More host names the API answers for, comma-separated (beyond loopback and HOST). */
    SANDBOX_ALLOWED_HOSTS: z._default(z.string(), ''),
    SANDBOX_DATA_DIR: z._default(z.string().check(z.minLength(1)), '.data'),
    SANDBOX_RECONCILE_INTERVAL_SECONDS: integer(5, 1, 3600),
    [ENV.tableName]: z._default(
      z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 of [A-Za-z0-9_.-]')),
      'sandbox-sessions',
    ),
    [ENV.dynamodbEndpoint]: z.optional(z.url('must be a URL')),
    /** More tenants, as on AWS: JSON { "<sha256 hex of a token>": "<tenant>" }. */
    [ENV.apiTokens]: z.optional(json(Tokens, '{ "<sha256 hex of a token>": "<tenant>" }')),
    /** Where lifecycle events are POSTed, signed (loopback only unless SANDBOX_WEBHOOK_ALLOW_REMOTE). */
    SANDBOX_WEBHOOK_URL: z.optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
    /** The signing secret; absent, the data folder's own (`webhook-secret`). */
    SANDBOX_WEBHOOK_SECRET: optionalText(z.string().check(z.minLength(16, 'must be at least 16 characters'))),
    SANDBOX_WEBHOOK_ALLOW_REMOTE: z._default(z.enum(['true', 'false'], 'must be true or false'), 'false'),
    /** The largest file one storage request may write (bytes; default 64 MiB). */
    [ENV.maxFileBytes]: integer(64 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    /** Bytes an owner's chats may hold together through the storage routes (default 1 GiB). */
    [ENV.ownerStorageBytes]: integer(DEFAULT_OWNER_STORAGE_BYTES, 1, Number.MAX_SAFE_INTEGER),
    /** Extra profiles as JSON: { "<name>": { "command": ["program", "arg", ...], "envAllow"?: [...] } }. */
    SANDBOX_LOCAL_PROFILES: z.optional(
      json(LocalProfiles, '{ "<name>": { "command": ["program", ...], "envAllow"?: ["APP_*", ...] } }'),
    ),
  },
  crossChecks: (e) => {
    const url = e.SANDBOX_WEBHOOK_URL;
    if (!url || e.SANDBOX_WEBHOOK_ALLOW_REMOTE === 'true') return [];
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
    return loopback
      ? []
      : [
          'SANDBOX_WEBHOOK_URL: must be a loopback address (set SANDBOX_WEBHOOK_ALLOW_REMOTE=true to send elsewhere)',
        ];
  },
  build: (e) => e,
});

export interface LocalConfig {
  readonly port: number;
  readonly host: string;
  /** The token from SANDBOX_API_TOKEN; absent, the data folder's own (generated on first start). */
  readonly apiToken: string | undefined;
  /** More tokens (sha256 hex -> tenant), as SANDBOX_API_TOKENS sets them on AWS. */
  readonly tenantsByTokenSha256: ReadonlyMap<string, string>;
  /** Host names the API answers for beyond loopback and `host`. */
  readonly allowedHosts: readonly string[];
  /** Whether `host` is reachable from other machines. */
  readonly exposed: boolean;
  readonly dataDir: string;
  readonly reconcileIntervalSeconds: number;
  readonly tableName: string;
  readonly dynamoEndpoint: string | undefined;
  readonly profiles: Readonly<Record<string, LocalProfile>>;
  readonly lifecycle: LifecycleConfig;
  /** Where events are POSTed, and the secret they are signed with (absent: the data folder's). */
  readonly webhook: { readonly url: string; readonly secret: string | undefined } | null;
  /** Chat storage's limits. */
  readonly storage: StorageConfig;
}

/** The example agent (examples/agent), run with the same Node as the control plane: the `default` profile. */
export const EXAMPLE_AGENT_PATH = fileURLToPath(new URL('../../examples/agent/agent.mjs', import.meta.url));

/**
 * Parses local mode's configuration; bad variables throw one error naming each. The lifecycle is the
 * functions' schema, with local defaults: local launches take seconds, not minutes.
 */
export function parseLocalConfig(env: NodeJS.ProcessEnv): LocalConfig {
  let parsed: {
    local: ReturnType<typeof localSection.build>;
    lifecycle: ReturnType<ReturnType<typeof lifecycleSection>['build']>;
  };
  try {
    // The lead is checked against the local reconcile interval, which the same environment sets.
    const interval = Number(env.SANDBOX_RECONCILE_INTERVAL_SECONDS ?? 5);
    parsed = parseSections(env, {
      local: localSection,
      lifecycle: lifecycleSection(LOCAL_LIFECYCLE_DEFAULTS, Number.isInteger(interval) ? interval : 5),
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new StartupError(error.message);
    throw error;
  }
  const e = parsed.local;
  const profiles: Record<string, LocalProfile> = {
    // Sized like the AWS default profile (1 vCPU, 2 GiB), so local usage totals read the same.
    default: {
      command: [process.execPath, EXAMPLE_AGENT_PATH],
      vcpu: 1,
      memoryGiB: 2,
      healthCheck: { path: '/health' },
    },
    ...(e.SANDBOX_LOCAL_PROFILES as Record<string, LocalProfile> | undefined),
  };
  return {
    port: e.PORT,
    host: e.HOST,
    apiToken: e.SANDBOX_API_TOKEN,
    tenantsByTokenSha256: new Map(
      Object.entries((e[ENV.apiTokens] as Record<string, string> | undefined) ?? {}),
    ),
    allowedHosts: e.SANDBOX_ALLOWED_HOSTS.split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0),
    exposed: !LOOPBACK_HOSTS.has(e.HOST),
    // Absolute, because DynamoDB Local runs with its own package folder as working directory.
    dataDir: resolve(e.SANDBOX_DATA_DIR),
    reconcileIntervalSeconds: e.SANDBOX_RECONCILE_INTERVAL_SECONDS,
    tableName: e[ENV.tableName],
    dynamoEndpoint: e[ENV.dynamodbEndpoint],
    profiles,
    lifecycle: withProfiles(
      {
        ...parsed.lifecycle,
        healthCheckedProfiles: [
          ...new Set([...(parsed.lifecycle.healthCheckedProfiles ?? []), ...healthCheckedProfiles(profiles)]),
        ],
      },
      profileNames(profiles),
      profileSizes(profiles),
    ),
    webhook: e.SANDBOX_WEBHOOK_URL ? { url: e.SANDBOX_WEBHOOK_URL, secret: e.SANDBOX_WEBHOOK_SECRET } : null,
    storage: { maxFileBytes: e[ENV.maxFileBytes], ownerMaxBytes: e[ENV.ownerStorageBytes] },
  };
}
