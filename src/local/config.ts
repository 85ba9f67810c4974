import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LocalProfile } from '../adapters/local/local-runtime.js';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from '../core/config.js';
import { StartupError } from './startup-error.js';

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const LocalProfileSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1),
  envAllow: z.array(z.string().regex(/^[A-Z0-9_*]{1,128}$/, 'env name patterns: A-Z 0-9 _ and *')).optional(),
});

/** Local mode's environment (API.md "Local mode knobs"), parsed once at start. */
const LocalEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8123),
  HOST: z.string().min(1).default('127.0.0.1'),
  SANDBOX_API_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters')
    .regex(/^\S+$/, 'must not contain spaces')
    .optional(),
  /** More host names the API answers for, comma-separated (beyond loopback and HOST). */
  SANDBOX_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((text) =>
      (text ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0),
    ),
  SANDBOX_DATA_DIR: z.string().min(1).default('.data'),
  SANDBOX_RECONCILE_INTERVAL_SECONDS: seconds(5),
  SANDBOX_MIN_IDLE_TIMEOUT_SECONDS: seconds(60),
  SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS: seconds(900),
  SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS: seconds(28_800),
  SANDBOX_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/)
    .default('sandbox-sessions'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  /** Extra profiles as JSON: { "<name>": { "command": ["program", "arg", ...], "envAllow"?: [...] } }. */
  SANDBOX_LOCAL_PROFILES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return {};
      const parsed = z
        .record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), LocalProfileSchema)
        .safeParse(safeJson(text));
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be JSON: { "<name>": { "command": ["program", ...], "envAllow"?: ["APP_*", ...] } }',
        });
        return z.NEVER;
      }
      return parsed.data;
    }),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface LocalConfig {
  readonly port: number;
  readonly host: string;
  /** The token from SANDBOX_API_TOKEN; absent, the data folder's own (generated on first start). */
  readonly apiToken: string | undefined;
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
}

/** The demo agent of API.md, run with the same Node as the control plane. */
export const DEMO_AGENT_PATH = fileURLToPath(new URL('../adapters/local/demo-agent.mjs', import.meta.url));

/**
 * Parses local mode's configuration; a bad variable throws an error naming it. Local launches are
 * seconds, not minutes, so the launch lease and timeouts are shorter than on Fargate.
 */
export function parseLocalConfig(env: NodeJS.ProcessEnv): LocalConfig {
  const parsed = LocalEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new StartupError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const profiles: Record<string, LocalProfile> = {
    default: { command: [process.execPath, DEMO_AGENT_PATH] },
    ...e.SANDBOX_LOCAL_PROFILES,
  };
  return {
    port: e.PORT,
    host: e.HOST,
    apiToken: e.SANDBOX_API_TOKEN,
    allowedHosts: e.SANDBOX_ALLOWED_HOSTS,
    exposed: !LOOPBACK_HOSTS.has(e.HOST),
    // Absolute, because DynamoDB Local runs with its own package folder as working directory.
    dataDir: resolve(e.SANDBOX_DATA_DIR),
    reconcileIntervalSeconds: e.SANDBOX_RECONCILE_INTERVAL_SECONDS,
    tableName: e.SANDBOX_TABLE_NAME,
    dynamoEndpoint: e.DYNAMODB_ENDPOINT,
    profiles,
    lifecycle: {
      ...DEFAULT_LIFECYCLE,
      profiles: Object.keys(profiles),
      envAllowLists: Object.fromEntries(
        Object.entries(profiles).flatMap(([name, profile]) =>
          profile.envAllow ? [[name, profile.envAllow]] : [],
        ),
      ),
      minIdleTimeoutSeconds: e.SANDBOX_MIN_IDLE_TIMEOUT_SECONDS,
      defaultIdleTimeoutSeconds: e.SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS,
      defaultMaxLifetimeSeconds: e.SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS,
      launchLeaseSeconds: 30,
      provisioningTimeoutSeconds: 120,
      launchRetrySeconds: 5,
      stopGraceSeconds: 15,
    },
  };
}
