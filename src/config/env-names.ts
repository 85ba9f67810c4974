/**
 * Names of the environment variables the Lambda functions read. The CDK stack sets them from these
 * constants and the functions' config module parses them, so the two cannot drift.
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
  /**
   * JSON object: profile name -> { taskDefinitionArn (the base definition), containerName, port }.
   */
  profiles: 'SANDBOX_PROFILES',
  /** `iam` (tenant = the caller's IAM principal) or `token` (tenant from SANDBOX_API_TOKENS). */
  authMode: 'SANDBOX_AUTH_MODE',
  /** JSON object: sha256 hex of a bearer token -> tenant id. */
  apiTokens: 'SANDBOX_API_TOKENS',
  minIdleTimeoutSeconds: 'SANDBOX_MIN_IDLE_TIMEOUT_SECONDS',
  defaultIdleTimeoutSeconds: 'SANDBOX_DEFAULT_IDLE_TIMEOUT_SECONDS',
  defaultMaxLifetimeSeconds: 'SANDBOX_DEFAULT_MAX_LIFETIME_SECONDS',
  /** Days a chat's access point and task definition stay registered after its last sandbox. */
  volumeRetireAfterDays: 'SANDBOX_VOLUME_RETIRE_AFTER_DAYS',
  /** Optional. Seconds a Fargate launch may take before the reconciler looks again (default 180). */
  launchLeaseSeconds: 'SANDBOX_LAUNCH_LEASE_SECONDS',
  /** Optional. Seconds in `provisioning` after which a session fails (default 600). */
  provisioningTimeoutSeconds: 'SANDBOX_PROVISIONING_TIMEOUT_SECONDS',
  /** Optional. Where chat storage is mounted read-write (default `/workspace/chat`). */
  chatMountPath: 'SANDBOX_CHAT_MOUNT_PATH',
  /** Optional. Where shared dependencies are mounted if the base task definition does not mount them. */
  dependenciesMountPath: 'SANDBOX_DEPENDENCIES_MOUNT_PATH',
  /** Optional. Where shared tools are mounted if the base task definition does not mount them. */
  toolsMountPath: 'SANDBOX_TOOLS_MOUNT_PATH',
  /** Optional. POSIX uid and gid owning chat directories on EFS (default 1000/1000). */
  chatUid: 'SANDBOX_CHAT_UID',
  chatGid: 'SANDBOX_CHAT_GID',
  /** Optional. A DynamoDB endpoint other than AWS's (DynamoDB Local); unset on AWS. */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
} as const;
