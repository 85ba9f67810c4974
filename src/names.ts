/**
 * Every name that crosses the line between the code and the infrastructure: environment variables
 * the functions read, CloudWatch metric namespace, metric and dimension names, service names, and
 * the default stack prefix. `infra/` imports them from here, so renaming one breaks the build, not an
 * alarm.
 */

/** CloudWatch namespace of the control plane's own metrics. */
export const METRIC_NAMESPACE = 'AgentSandbox';

/** The default prefix of the CDK stacks' names (`<prefix>-Stateful`, `<prefix>-Service`). */
export const DEFAULT_STACK_PREFIX = 'AgentSandbox';

/** Powertools service names of the functions; also the `service` dimension of their metrics. */
export const SERVICES = {
  api: 'sandbox-api',
  taskEvents: 'sandbox-task-events',
  reconciler: 'sandbox-reconciler',
  eventPublisher: 'sandbox-event-publisher',
  webhook: 'sandbox-webhook',
  logs: 'sandbox-logs',
  storage: 'sandbox-storage',
} as const;

/**
 * API routes a function other than the api function serves: API Gateway sends each to its own
 * integration (OpenAPI path form).
 */
export const ROUTE_PATHS = {
  /** The logs function's route. */
  sandboxLogs: '/v1/chats/{chatId}/sandbox/logs',
  /**
   * The OpenAPI document, also served by the logs function: it has every route the api function
   * has, plus the logs route, and room in its bundle for the JSON Schema generator.
   */
  openApi: '/v1/openapi.json',
} as const;

/**
 * The chat storage routes (OpenAPI path form): the storage function serves them, inside the VPC
 * with the file system mounted. `GET` routes answer `HEAD` too.
 */
export const STORAGE_ROUTE_KEYS = [
  { method: 'get', path: '/v1/chats/{chatId}/files' },
  { method: 'put', path: '/v1/chats/{chatId}/file' },
  { method: 'get', path: '/v1/chats/{chatId}/file' },
  { method: 'delete', path: '/v1/chats/{chatId}/file' },
  { method: 'get', path: '/v1/chats/{chatId}/history' },
  { method: 'put', path: '/v1/chats/{chatId}/history' },
  { method: 'post', path: '/v1/chats/{chatId}/history' },
  { method: 'delete', path: '/v1/chats/{chatId}' },
] as const satisfies readonly { readonly method: 'get' | 'put' | 'post' | 'delete'; readonly path: string }[];

/**
 * Seconds the storage function may run at most. A write checks the chat's purge mark when it
 * starts, and a purge removes the directory only PURGE_SETTLE_MS (15 s) after its mark, so a write
 * that started before the mark has ended, by Lambda's own limit, before the removal begins.
 */
export const STORAGE_FUNCTION_TIMEOUT_SECONDS = 10;

/** Where the storage function mounts the file system's `/chats` directory (Lambda mounts under /mnt). */
export const STORAGE_MOUNT_PATH = '/mnt/chats';

/** `source` of the lifecycle events on the stack's EventBridge bus. */
export const EVENT_SOURCE = 'agent-sandbox';

/** Dimension names of the control plane's metrics. */
export const DIMENSIONS = {
  service: 'service',
  result: 'result',
  retryable: 'retryable',
  outcome: 'outcome',
} as const;

/**
 * The reconcile pass's counters and the metric each is published as (non-zero values only).
 * `ReconcileErrors` is alarmed on.
 */
export const RECONCILE_METRICS = {
  examined: 'ReconcileExamined',
  rearmed: 'ReconcileRearmed',
  expired: 'ReconcileExpired',
  relaunched: 'ReconcileRelaunched',
  promoted: 'ReconcilePromoted',
  failed: 'ReconcileFailed',
  finished: 'ReconcileFinished',
  stopRetried: 'ReconcileStopRetried',
  orphansStopped: 'ReconcileOrphansStopped',
  strangersStopped: 'ReconcileStrangersStopped',
  settled: 'ReconcileSettled',
  expiringAnnounced: 'ReconcileExpiringAnnounced',
  unitsRecovered: 'ReconcileUnitsRecovered',
  errors: 'ReconcileErrors',
} as const;

/** The control plane's metrics (namespace `METRIC_NAMESPACE`, dimension `service` on each). */
export const METRICS = {
  /** api: one per get-or-create answer; dimension `result` (created, reused, or the problem code). */
  getOrCreate: 'GetOrCreate',
  /** Launches the runtime accepted. */
  launches: 'Launches',
  /** Launches that failed; dimension `retryable`. */
  launchFailures: 'LaunchFailures',
  /** reconciler: tasks the runtime runs, at each orphan sweep. */
  activeSandboxes: 'ActiveSandboxes',
  /** reconciler: chat volumes retired. */
  volumesRetired: 'VolumesRetired',
  /** reconciler: chats purged (directory, records and per-chat resources removed). */
  chatsPurged: 'ChatsPurged',
  /** task-events: one per event; dimension `outcome`. */
  taskEvents: 'TaskEvents',
  /** event-publisher: lifecycle events the bus took. */
  eventsPublished: 'EventsPublished',
  /** event-publisher: lifecycle events the bus refused (retried with their stream records). */
  eventsRefused: 'EventsRefused',
  /** webhook: one per delivery attempt; dimension `outcome` (delivered, retry, refused). */
  webhookDeliveries: 'WebhookDeliveries',
  ...RECONCILE_METRICS,
} as const;

/**
 * Environment variables of the Lambda functions (and, where they apply, of local mode). The CDK
 * stack sets them and src/config parses them.
 */
export const ENV = {
  tableName: 'SANDBOX_TABLE_NAME',
  clusterArn: 'SANDBOX_CLUSTER_ARN',
  /** Comma-separated subnet ids for the sandbox tasks' awsvpc network configuration. */
  subnetIds: 'SANDBOX_SUBNET_IDS',
  /** Comma-separated security group ids for the sandbox tasks. */
  securityGroupIds: 'SANDBOX_SECURITY_GROUP_IDS',
  /** `ENABLED` or `DISABLED`. */
  assignPublicIp: 'SANDBOX_ASSIGN_PUBLIC_IP',
  fileSystemId: 'SANDBOX_FILE_SYSTEM_ID',
  dependenciesAccessPointId: 'SANDBOX_DEPENDENCIES_ACCESS_POINT_ID',
  toolsAccessPointId: 'SANDBOX_TOOLS_ACCESS_POINT_ID',
  /** Prefix of every per-chat task-definition family; IAM scopes RunTask to it. */
  taskFamilyPrefix: 'SANDBOX_TASK_FAMILY_PREFIX',
  /** JSON object: profile name -> { taskDefinitionArn (the base definition), containerName, port, envAllow? }. */
  profiles: 'SANDBOX_PROFILES',
  /**
   * JSON object: profile name -> { logGroupName, streamPrefix, containerName }, where the awslogs
   * driver writes that profile's task output (the logs function).
   */
  logStreams: 'SANDBOX_LOG_STREAMS',
  /** `iam` (tenant = the caller's IAM principal) or `token` (tenant from SANDBOX_API_TOKENS). */
  authMode: 'SANDBOX_AUTH_MODE',
  /** JSON object: sha256 hex of a bearer token -> tenant id. */
  apiTokens: 'SANDBOX_API_TOKENS',
  /** The agent a compatibility-route create runs when it names none (`default`). */
  defaultAgentId: 'SANDBOX_DEFAULT_AGENT_ID',
  minIdleTimeoutSeconds: 'SANDBOX_MIN_IDLE_TIMEOUT_SECONDS',
  defaultIdleTimeoutSeconds: 'SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS',
  defaultMaxLifetimeSeconds: 'SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS',
  /** Seconds a launch may take before the reconciler looks again (default 180 on AWS, 30 locally). */
  launchLeaseSeconds: 'SANDBOX_LAUNCH_LEASE_SECONDS',
  /** Seconds in `provisioning` after which a session fails (default 600 on AWS, 120 locally). */
  provisioningTimeoutSeconds: 'SANDBOX_PROVISIONING_TIMEOUT_SECONDS',
  /**
   * Seconds a task in the sandbox cluster that no session names may run before the reconciler stops
   * it (default: the launch lease).
   */
  strangerGraceSeconds: 'SANDBOX_STRANGER_GRACE_SECONDS',
  /** Comma-separated profiles with a health check: their sandboxes are running once it passes. */
  healthCheckedProfiles: 'SANDBOX_HEALTH_CHECKED_PROFILES',
  /** Seconds before an expiry that `Sandbox Expiring` is sent (default 120 on AWS, 30 locally; 0: never). */
  expiringLeadSeconds: 'SANDBOX_EXPIRING_LEAD_SECONDS',
  /** The EventBridge bus lifecycle events go to (event-publisher). */
  eventBusName: 'SANDBOX_EVENT_BUS_NAME',
  /** Where the webhook function POSTs events (and local mode's webhook). */
  webhookUrl: 'SANDBOX_WEBHOOK_URL',
  /** The Secrets Manager secret the webhook function signs with. */
  webhookSecretArn: 'SANDBOX_WEBHOOK_SECRET_ARN',
  /** Live sandboxes per tenant, unless an operator set the tenant's own limit (default 500). */
  tenantMaxLive: 'SANDBOX_TENANT_MAX_LIVE',
  /** Live sandboxes per owner, unless an operator set the tenant's own limit (default 10). */
  ownerMaxLive: 'SANDBOX_OWNER_MAX_LIVE',
  /** Days a chat's access point and task definition stay registered after its last sandbox. */
  volumeRetireAfterDays: 'SANDBOX_VOLUME_RETIRE_AFTER_DAYS',
  /** Where chat storage is mounted read-write (default `/workspace/chat`). */
  chatMountPath: 'SANDBOX_CHAT_MOUNT_PATH',
  /** Where shared dependencies are mounted if the base task definition does not mount them. */
  dependenciesMountPath: 'SANDBOX_DEPENDENCIES_MOUNT_PATH',
  /** Where shared tools are mounted if the base task definition does not mount them. */
  toolsMountPath: 'SANDBOX_TOOLS_MOUNT_PATH',
  /** POSIX uid and gid owning chat directories on EFS (default 1000/1000). */
  chatUid: 'SANDBOX_CHAT_UID',
  chatGid: 'SANDBOX_CHAT_GID',
  /** The directory holding every chat's directory, `<tenant hash>/<chatId>` below it (storage function). */
  chatsRoot: 'SANDBOX_CHATS_ROOT',
  /** The largest file one storage request may write (bytes); at most 4 MiB on AWS. */
  maxFileBytes: 'SANDBOX_MAX_FILE_BYTES',
  /** Bytes an owner's chats may hold together through the storage routes (default 1 GiB). */
  ownerStorageBytes: 'SANDBOX_OWNER_STORAGE_BYTES',
  /** The storage function the reconciler asks to remove a purged chat's directory. */
  storageFunctionName: 'SANDBOX_STORAGE_FUNCTION_NAME',
  /** A DynamoDB endpoint other than AWS's (DynamoDB Local); unset on AWS. */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** Powertools: the metric namespace. */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;
