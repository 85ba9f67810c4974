/** Settings of the ECS Fargate runtime; src/config/aws-config.ts parses them from the environment. */

/** A sandbox profile on AWS: the base task definition the per-chat definitions are derived from. */
export interface EcsProfile {
  /** Full ARN (with revision) of the profile's base task definition. */
  readonly taskDefinitionArn: string;
  /** The container that runs the sandbox: it gets the mounts and the environment. */
  readonly containerName: string;
  /** The port the sandbox listens on; the endpoint is the task's private IPv4 address and this port. */
  readonly port: number;
  /** Strict mode: the env name patterns (`APP_*`) its sandboxes accept; absent, any the policy allows. */
  readonly envAllow?: readonly string[];
  /** The task's size (vCPU, GiB of memory), for the usage ledger. */
  readonly vcpu?: number;
  readonly memoryGiB?: number;
}

export interface MountPaths {
  /** Read-write chat storage. */
  readonly chat: string;
  /** Read-only shared dependencies. */
  readonly dependencies: string;
  /** Read-only shared tools. */
  readonly tools: string;
}

export const DEFAULT_MOUNT_PATHS: MountPaths = {
  chat: '/workspace/chat',
  dependencies: '/opt/dependencies',
  tools: '/opt/lambda-tools',
};

export interface EcsRuntimeSettings {
  readonly clusterArn: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
  readonly fileSystemId: string;
  readonly dependenciesAccessPointId: string;
  readonly toolsAccessPointId: string;
  /** Every per-chat task-definition family starts with this prefix (IAM scopes RunTask to it). */
  readonly taskFamilyPrefix: string;
  readonly profiles: Readonly<Record<string, EcsProfile>>;
  readonly mountPaths: MountPaths;
  /** POSIX owner of chat directories: the access point's user and the directory's creator. */
  readonly chatOwner: { readonly uid: number; readonly gid: number };
  /** Days after its last launch that a chat's access point and task definitions are retired. */
  readonly volumeRetireAfterDays: number;
}
