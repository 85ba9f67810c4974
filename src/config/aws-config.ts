/**
 * The Lambda functions' configuration, parsed once from the environment at cold start. A missing or
 * malformed variable throws `ConfigError` naming the variable, so a bad deployment fails loudly on its
 * first invocation instead of on some later request.
 */
import { z } from 'zod';
import type { EcsRuntimeSettings } from '../adapters/ecs/settings.js';
import { DEFAULT_MOUNT_PATHS } from '../adapters/ecs/settings.js';
import { DEFAULT_LIFECYCLE, type LifecycleConfig } from '../core/config.js';
import { TENANT_PATTERN } from '../http/auth.js';
import { ENV } from './env-names.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export type AuthMode = 'iam' | 'token';

export interface AwsConfig {
  readonly tableName: string;
  readonly dynamodbEndpoint: string | undefined;
  readonly lifecycle: LifecycleConfig;
  readonly runtime: EcsRuntimeSettings;
  readonly auth: {
    readonly mode: AuthMode;
    /** sha256 hex of a bearer token -> tenant. */
    readonly tenantsByTokenSha256: ReadonlyMap<string, string>;
  };
}

const requiredText = z.string({ error: (issue) => (issue.input === undefined ? 'is required' : undefined) });
const text = requiredText.trim().min(1, 'must not be empty');
const list = text.transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);
const integer = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);
const absolutePath = (fallback: string) =>
  z
    .string()
    .regex(/^\/[^\s]*$/, 'must be an absolute path')
    .default(fallback);

/** A JSON-valued variable: parsed, then checked against `schema`. */
function json<T extends z.ZodType>(schema: T, shape: string) {
  return text.transform((value, ctx): z.infer<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be JSON: ${shape}` });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const detail = result.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`,
      );
      ctx.addIssue({ code: 'custom', message: `${shape}; ${detail.join(', ')}` });
      return z.NEVER;
    }
    return result.data;
  });
}

const TASK_DEFINITION_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]+:\d+$/;

const Profile = z.strictObject({
  taskDefinitionArn: z.string().regex(TASK_DEFINITION_ARN, 'must be a task definition ARN with its revision'),
  containerName: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  envAllow: z.array(z.string().regex(/^[A-Z0-9_*]{1,128}$/, 'env name patterns: A-Z 0-9 _ and *')).optional(),
});

const Profiles = z
  .record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'profile names are 1-64 of [A-Za-z0-9._-]'), Profile)
  .refine((profiles) => Object.keys(profiles).length > 0, 'must define at least one profile');

const Tokens = z.record(
  z.string().regex(/^[0-9a-f]{64}$/, 'keys are sha256 hex digests'),
  z.string().regex(TENANT_PATTERN, 'tenants are 1-256 of [A-Za-z0-9._:/@+=,-]'),
);

const AwsEnv = z.object({
  [ENV.tableName]: text,
  [ENV.clusterArn]: text.regex(/^arn:aws[a-z-]*:ecs:/, 'must be a cluster ARN'),
  [ENV.subnetIds]: list.pipe(z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'must list subnet ids')).min(1)),
  [ENV.securityGroupIds]: list.pipe(
    z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'must list security group ids')).min(1),
  ),
  [ENV.assignPublicIp]: z.enum(['ENABLED', 'DISABLED']).default('DISABLED'),
  [ENV.fileSystemId]: text.regex(/^fs-[0-9a-f]+$/, 'must be a file system id (fs-...)'),
  [ENV.dependenciesAccessPointId]: text.regex(/^fsap-[0-9a-f]+$/, 'must be an access point id (fsap-...)'),
  [ENV.toolsAccessPointId]: text.regex(/^fsap-[0-9a-f]+$/, 'must be an access point id (fsap-...)'),
  [ENV.taskFamilyPrefix]: text.regex(/^[A-Za-z0-9_-]{1,150}$/, 'must be 1-150 of [A-Za-z0-9_-]'),
  [ENV.profiles]: json(Profiles, '{ "<profile>": { "taskDefinitionArn", "containerName", "port" } }'),
  [ENV.authMode]: z.enum(['iam', 'token']).default('iam'),
  [ENV.apiTokens]: json(Tokens, '{ "<sha256 hex of a token>": "<tenant>" }').optional(),
  [ENV.minIdleTimeoutSeconds]: integer(DEFAULT_LIFECYCLE.minIdleTimeoutSeconds, 1, 86_400),
  [ENV.defaultIdleTimeoutSeconds]: integer(DEFAULT_LIFECYCLE.defaultIdleTimeoutSeconds, 1, 86_400),
  [ENV.defaultMaxLifetimeSeconds]: integer(DEFAULT_LIFECYCLE.defaultMaxLifetimeSeconds, 1, 86_400),
  // At least 2 days: longer than a sandbox can live, so no running sandbox loses its mount.
  [ENV.volumeRetireAfterDays]: integer(30, 2, 3650),
  [ENV.launchLeaseSeconds]: integer(DEFAULT_LIFECYCLE.launchLeaseSeconds, 30, 3600),
  [ENV.provisioningTimeoutSeconds]: integer(DEFAULT_LIFECYCLE.provisioningTimeoutSeconds, 60, 7200),
  [ENV.chatMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.chat),
  [ENV.dependenciesMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.dependencies),
  [ENV.toolsMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.tools),
  [ENV.chatUid]: integer(1000, 0, 4_294_967_295),
  [ENV.chatGid]: integer(1000, 0, 4_294_967_295),
  [ENV.dynamodbEndpoint]: z.url('must be a URL').optional(),
});

/** Relations between variables, each reported under the variable that breaks it. */
function crossChecks(e: z.infer<typeof AwsEnv>): string[] {
  const problems: string[] = [];
  if (e[ENV.defaultIdleTimeoutSeconds] < e[ENV.minIdleTimeoutSeconds]) {
    problems.push(`${ENV.defaultIdleTimeoutSeconds}: must be at least ${ENV.minIdleTimeoutSeconds}`);
  }
  if (e[ENV.defaultMaxLifetimeSeconds] < e[ENV.defaultIdleTimeoutSeconds]) {
    problems.push(`${ENV.defaultMaxLifetimeSeconds}: must be at least ${ENV.defaultIdleTimeoutSeconds}`);
  }
  if (e[ENV.provisioningTimeoutSeconds] < e[ENV.launchLeaseSeconds]) {
    problems.push(`${ENV.provisioningTimeoutSeconds}: must be at least ${ENV.launchLeaseSeconds}`);
  }
  if (e[ENV.authMode] === 'token' && Object.keys(e[ENV.apiTokens] ?? {}).length === 0) {
    problems.push(`${ENV.apiTokens}: is required when ${ENV.authMode} is token`);
  }
  return problems;
}

/** Parses the functions' environment; throws `ConfigError` naming every bad variable. */
export function parseAwsConfig(env: NodeJS.ProcessEnv): AwsConfig {
  const parsed = AwsEnv.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems = crossChecks(e);
  if (problems.length > 0) throw new ConfigError(problems);

  const profiles = e[ENV.profiles];
  const profileNames = Object.keys(profiles);
  return {
    tableName: e[ENV.tableName],
    dynamodbEndpoint: e[ENV.dynamodbEndpoint],
    lifecycle: {
      ...DEFAULT_LIFECYCLE,
      profiles: profileNames,
      defaultProfile: profileNames.includes('default') ? 'default' : profileNames[0]!,
      envAllowLists: Object.fromEntries(
        Object.entries(profiles).flatMap(([name, profile]) =>
          profile.envAllow ? [[name, profile.envAllow]] : [],
        ),
      ),
      minIdleTimeoutSeconds: e[ENV.minIdleTimeoutSeconds],
      defaultIdleTimeoutSeconds: e[ENV.defaultIdleTimeoutSeconds],
      defaultMaxLifetimeSeconds: e[ENV.defaultMaxLifetimeSeconds],
      launchLeaseSeconds: e[ENV.launchLeaseSeconds],
      provisioningTimeoutSeconds: e[ENV.provisioningTimeoutSeconds],
    },
    runtime: {
      clusterArn: e[ENV.clusterArn],
      subnetIds: e[ENV.subnetIds],
      securityGroupIds: e[ENV.securityGroupIds],
      assignPublicIp: e[ENV.assignPublicIp],
      fileSystemId: e[ENV.fileSystemId],
      dependenciesAccessPointId: e[ENV.dependenciesAccessPointId],
      toolsAccessPointId: e[ENV.toolsAccessPointId],
      taskFamilyPrefix: e[ENV.taskFamilyPrefix],
      profiles,
      mountPaths: {
        chat: e[ENV.chatMountPath],
        dependencies: e[ENV.dependenciesMountPath],
        tools: e[ENV.toolsMountPath],
      },
      chatOwner: { uid: e[ENV.chatUid], gid: e[ENV.chatGid] },
      volumeRetireAfterDays: e[ENV.volumeRetireAfterDays],
    },
    auth: {
      mode: e[ENV.authMode],
      tenantsByTokenSha256: new Map(Object.entries(e[ENV.apiTokens] ?? {})),
    },
  };
}
