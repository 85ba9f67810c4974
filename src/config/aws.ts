/**
 * The Lambda functions' configuration, in sections: each function parses only the sections it uses
 * (task-events needs neither the profiles nor the network), all at its cold start.
 */
import type { EcsProfile, EcsRuntimeSettings } from '../adapters/ecs/settings.js';
import { DEFAULT_MOUNT_PATHS } from '../adapters/ecs/settings.js';
import type { SandboxLogStreams } from '../adapters/logs/cloudwatch-logs.js';
import { DEFAULT_OWNER_STORAGE_BYTES, type StorageConfig } from '../core/chat-files-port.js';
import { TENANT_PATTERN } from '../core/model.js';
import { ENV, STORAGE_MOUNT_PATH } from '../names.js';
import * as z from '../zod.js';
import { absolutePath, envAllowList, integer, json, list, optionalText, section, text } from './env.js';

/** The session table: every function. */
export const tableSection = section({
  shape: {
    [ENV.tableName]: text,
    [ENV.dynamodbEndpoint]: z.optional(z.url('must be a URL')),
  },
  build: (e) => ({ tableName: e[ENV.tableName], dynamodbEndpoint: e[ENV.dynamodbEndpoint] }),
});

const clusterArn = z.pipe(text, z.string().check(z.regex(/^arn:aws[a-z-]*:ecs:/, 'must be a cluster ARN')));

/** The sandbox cluster alone: task-events, which only reads and stops tasks. */
export const clusterSection = section({
  shape: { [ENV.clusterArn]: clusterArn },
  build: (e) => ({ clusterArn: e[ENV.clusterArn] }),
});

const TASK_DEFINITION_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]+:\d+$/;

const Profile = z.strictObject({
  taskDefinitionArn: z
    .string()
    .check(z.regex(TASK_DEFINITION_ARN, 'must be a task definition ARN with its revision')),
  containerName: z.string().check(z.minLength(1)),
  port: z.int().check(z.minimum(1), z.maximum(65_535)),
  envAllow: envAllowList,
  /** The task's size, for the usage ledger (the CDK stack sets it from the profile). */
  vcpu: z.optional(z.number().check(z.minimum(0), z.maximum(192))),
  memoryGiB: z.optional(z.number().check(z.minimum(0), z.maximum(1536))),
});

const Profiles = z
  .record(
    z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'profile names are 1-64 of [A-Za-z0-9._-]')),
    Profile,
  )
  .check(z.refine((profiles) => Object.keys(profiles).length > 0, 'must define at least one profile'));

const pattern = (regex: RegExp, message: string) => z.string().check(z.regex(regex, message));

/** Everything the ECS runtime launches with: api and reconciler. */
/** Only the profiles (the logs function: it names them in its document and runs none). */
export const profilesSection = section({
  shape: {
    [ENV.profiles]: json(
      Profiles,
      '{ "<profile>": { "taskDefinitionArn", "containerName", "port", "envAllow"? } }',
    ),
  },
  build: (e) => e[ENV.profiles] as Readonly<Record<string, EcsProfile>>,
});

export const ecsSection = section({
  shape: {
    [ENV.clusterArn]: clusterArn,
    [ENV.subnetIds]: z.pipe(
      list,
      z.array(pattern(/^subnet-[0-9a-f]+$/, 'must list subnet ids')).check(z.minLength(1)),
    ),
    [ENV.securityGroupIds]: z.pipe(
      list,
      z.array(pattern(/^sg-[0-9a-f]+$/, 'must list security group ids')).check(z.minLength(1)),
    ),
    [ENV.assignPublicIp]: z._default(z.enum(['ENABLED', 'DISABLED']), 'DISABLED'),
    [ENV.fileSystemId]: z.pipe(text, pattern(/^fs-[0-9a-f]+$/, 'must be a file system id (fs-...)')),
    [ENV.dependenciesAccessPointId]: z.pipe(
      text,
      pattern(/^fsap-[0-9a-f]+$/, 'must be an access point id (fsap-...)'),
    ),
    [ENV.toolsAccessPointId]: z.pipe(
      text,
      pattern(/^fsap-[0-9a-f]+$/, 'must be an access point id (fsap-...)'),
    ),
    [ENV.taskFamilyPrefix]: z.pipe(text, pattern(/^[A-Za-z0-9_-]{1,150}$/, 'must be 1-150 of [A-Za-z0-9_-]')),
    [ENV.profiles]: json(
      Profiles,
      '{ "<profile>": { "taskDefinitionArn", "containerName", "port", "envAllow"? } }',
    ),
    // At least 2 days: longer than a sandbox can live, so no running sandbox loses its mount.
    [ENV.volumeRetireAfterDays]: integer(30, 2, 3650),
    [ENV.chatMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.chat),
    [ENV.dependenciesMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.dependencies),
    [ENV.toolsMountPath]: absolutePath(DEFAULT_MOUNT_PATHS.tools),
    [ENV.chatUid]: integer(1000, 0, 4_294_967_295),
    [ENV.chatGid]: integer(1000, 0, 4_294_967_295),
  },
  build: (e): EcsRuntimeSettings => ({
    clusterArn: e[ENV.clusterArn],
    subnetIds: e[ENV.subnetIds],
    securityGroupIds: e[ENV.securityGroupIds],
    assignPublicIp: e[ENV.assignPublicIp],
    fileSystemId: e[ENV.fileSystemId],
    dependenciesAccessPointId: e[ENV.dependenciesAccessPointId],
    toolsAccessPointId: e[ENV.toolsAccessPointId],
    taskFamilyPrefix: e[ENV.taskFamilyPrefix],
    profiles: e[ENV.profiles] as Record<string, EcsProfile>,
    mountPaths: {
      chat: e[ENV.chatMountPath],
      dependencies: e[ENV.dependenciesMountPath],
      tools: e[ENV.toolsMountPath],
    },
    chatOwner: { uid: e[ENV.chatUid], gid: e[ENV.chatGid] },
    volumeRetireAfterDays: e[ENV.volumeRetireAfterDays],
  }),
});

const Tokens = z.record(
  pattern(/^[0-9a-f]{64}$/, 'keys are sha256 hex digests'),
  pattern(TENANT_PATTERN, 'tenants are 1-256 of [A-Za-z0-9._:/@+=,-]'),
);

export type AuthMode = 'iam' | 'token';

export interface AuthSettings {
  readonly mode: AuthMode;
  /** sha256 hex of a bearer token -> tenant. */
  readonly tenantsByTokenSha256: ReadonlyMap<string, string>;
}

/** How callers authenticate: the api function. */
export const authSection = section({
  shape: {
    [ENV.authMode]: z._default(z.enum(['iam', 'token']), 'iam'),
    [ENV.apiTokens]: z.optional(json(Tokens, '{ "<sha256 hex of a token>": "<tenant>" }')),
  },
  crossChecks: (e) =>
    e[ENV.authMode] === 'token' && Object.keys(e[ENV.apiTokens] ?? {}).length === 0
      ? [`${ENV.apiTokens}: is required when ${ENV.authMode} is token`]
      : [],
  build: (e): AuthSettings => ({
    mode: e[ENV.authMode],
    tenantsByTokenSha256: new Map(Object.entries(e[ENV.apiTokens] ?? {})),
  }),
});

/** The event publisher's bus. */
export const eventBusSection = section({
  shape: { [ENV.eventBusName]: text },
  build: (e) => ({ eventBusName: e[ENV.eventBusName] }),
});

/** The webhook function's endpoint and the secret it signs with. */
export const webhookSection = section({
  shape: {
    [ENV.webhookUrl]: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    [ENV.webhookSecretArn]: z.pipe(
      text,
      z.string().check(z.regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN')),
    ),
  },
  build: (e) => ({ url: e[ENV.webhookUrl], secretArn: e[ENV.webhookSecretArn] }),
});

/** CloudWatch log group names (1-512 of `[.-_/#A-Za-z0-9]`). */
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;

const LogStreams = z
  .record(
    z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'profile names are 1-64 of [A-Za-z0-9._-]')),
    z.strictObject({
      logGroupName: pattern(LOG_GROUP_NAME, 'must be a log group name'),
      // awslogs-stream-prefix: no `:` or `*`, which log stream names do not allow.
      streamPrefix: pattern(/^[^:*]{1,256}$/, 'must be 1-256 characters other than : and *'),
      containerName: pattern(/^[A-Za-z0-9_-]{1,255}$/, 'must be a container name'),
    }),
  )
  .check(z.refine((streams) => Object.keys(streams).length > 0, 'must define at least one profile'));

/** Where each profile's tasks log (the awslogs options of its task definition): the logs function. */
export const logStreamsSection = section({
  shape: {
    [ENV.logStreams]: json(
      LogStreams,
      '{ "<profile>": { "logGroupName", "streamPrefix", "containerName" } }',
    ),
  },
  build: (e): SandboxLogStreams => e[ENV.logStreams] as SandboxLogStreams,
});

/**
 * The largest file the storage function takes or answers: 4 MiB (4,194,304 bytes). API Gateway
 * hands a binary body to Lambda base64-encoded (5,592,408 bytes for 4 MiB), inside an event that
 * must fit Lambda's 6 MB synchronous payload limit together with the request's headers; answers
 * are base64-encoded the same way. A larger body never reaches the function: see docs/api.md.
 */
export const AWS_MAX_FILE_BYTES = 4 * 1024 * 1024;

/** The owners' byte quota: the storage function enforces it, the api function shows it in `GET /v1/usage`. */
export const storageQuotaSection = section({
  shape: { [ENV.ownerStorageBytes]: integer(DEFAULT_OWNER_STORAGE_BYTES, 1, Number.MAX_SAFE_INTEGER) },
  build: (e) => ({ ownerMaxBytes: e[ENV.ownerStorageBytes] }),
});

/** Where the storage function finds the chats, and its file size limit (at most 4 MiB). */
export const storageSection = section({
  shape: {
    [ENV.chatsRoot]: absolutePath(STORAGE_MOUNT_PATH),
    [ENV.maxFileBytes]: integer(AWS_MAX_FILE_BYTES, 1, AWS_MAX_FILE_BYTES),
    [ENV.ownerStorageBytes]: integer(DEFAULT_OWNER_STORAGE_BYTES, 1, Number.MAX_SAFE_INTEGER),
  },
  build: (e): { readonly chatsRoot: string; readonly limits: StorageConfig } => ({
    chatsRoot: e[ENV.chatsRoot],
    limits: { maxFileBytes: e[ENV.maxFileBytes], ownerMaxBytes: e[ENV.ownerStorageBytes] },
  }),
});

/**
 * The storage function the reconciler asks to remove a purged chat's directory. Optional, so a
 * reconciler deployed without chat storage still starts: it then leaves purges marked (and says
 * so) until the variable is set.
 */
export const storageFunctionSection = section({
  shape: { [ENV.storageFunctionName]: optionalText },
  build: (e) => ({ functionName: e[ENV.storageFunctionName] ?? null }),
});
