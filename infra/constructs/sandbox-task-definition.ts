import { Arn, Aws, Duration, Validations } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_MOUNT_PATHS } from '../../src/adapters/ecs/settings.js';
import { VOLUME_NAMES } from '../../src/adapters/ecs/task-definition.js';
import { HealthCheckSchema } from '../../src/config/health-check.js';
import { type HealthCheckSpec, resolveHealthCheck } from '../../src/core/health-check.js';
import type { ChatFileSystem } from './chat-file-system.js';

/**
 * Where a profile's sandboxes write what they print. `cloudwatch`: a log group of this stack, which
 * `GET …/sandbox/logs` reads. `none`: no log driver, output is dropped. `splunk`: the awslogs
 * alternative Fargate supports without a sidecar, with the HEC token read from Secrets Manager by
 * the execution role (give the secret's complete ARN). Only `cloudwatch` output can be read through
 * the API; the other two answer no lines there.
 */
export type SandboxLogging =
  | 'cloudwatch'
  | 'none'
  | { readonly splunk: { readonly url: string; readonly tokenSecretArn: string } };

/** One kind of sandbox the API can start: an image and the resources and port it gets. */
export interface SandboxProfile {
  /** Profile name clients ask for, e.g. `default`. */
  readonly name: string;
  /** Image reference; an ECR URI in any account is pulled with a scoped execution-role grant. */
  readonly image: string;
  /** Fargate CPU units (256, 512, 1024, ...). */
  readonly cpu: number;
  /** Memory in MiB, valid for the chosen CPU. */
  readonly memoryMiB: number;
  /** Port the agent server in the sandbox listens on. */
  readonly port: number;
  /** @default 'sandbox' */
  readonly containerName?: string;
  /** The container's command, in place of the image's. @default the image's */
  readonly command?: readonly string[];
  /** `uid[:gid]` the container runs as. @default the image's */
  readonly user?: string;
  /** @default 'cloudwatch' */
  readonly logging?: SandboxLogging;
  /**
   * Managed policies for a task role. Absent means no task role at all, so the sandbox gets no AWS
   * credentials, which is the default and the safe choice for running untrusted agent code.
   */
  readonly taskRoleManagedPolicyArns?: readonly string[];
  /**
   * A container health check: the sandbox becomes `running` only once ECS reports it HEALTHY. A
   * `path` is checked with `curl` inside the container (the image must have it); a `command` runs
   * as given. @default none: running as soon as the task runs
   */
  readonly healthCheck?: HealthCheckSpec;
}

/** The ECS container health check of a profile's check (ECS's own bounds and defaults). */
export function containerHealthCheck(spec: HealthCheckSpec, port: number): ecs.HealthCheck {
  const parsed = HealthCheckSchema.safeParse(spec);
  if (!parsed.success)
    throw new Error(`invalid healthCheck: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  const check = resolveHealthCheck(spec);
  return {
    command: check.path
      ? ['CMD-SHELL', `curl -fsS -o /dev/null 'http://127.0.0.1:${port}${check.path}' || exit 1`]
      : ['CMD', ...check.command!],
    interval: Duration.seconds(check.intervalSeconds),
    timeout: Duration.seconds(check.timeoutSeconds),
    retries: check.retries,
    ...(check.startPeriodSeconds > 0 ? { startPeriod: Duration.seconds(check.startPeriodSeconds) } : {}),
  };
}

/** Where the read-only shared directories appear inside every sandbox. */
export interface SharedMountPaths {
  readonly dependencies: string;
  readonly tools: string;
}

/** The ECS adapter's own defaults, so a base definition and a derived one agree when nothing is set. */
export const DEFAULT_SHARED_MOUNT_PATHS: SharedMountPaths = {
  dependencies: DEFAULT_MOUNT_PATHS.dependencies,
  tools: DEFAULT_MOUNT_PATHS.tools,
};

export interface SandboxTaskDefinitionProps {
  readonly profile: SandboxProfile;
  readonly storage: ChatFileSystem;
  readonly sharedMountPaths: SharedMountPaths;
  /** Retention of the profile's log group (`cloudwatch` logging only). */
  readonly logRetention: logs.RetentionDays;
}

/** Profile names: what the API accepts, starting with a letter or digit. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SECRET_COMPLETE_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/** Refuses at synth what would fail at deploy or at the functions' cold start. */
function validateProfile(profile: SandboxProfile): void {
  if (!PROFILE_NAME.test(profile.name)) {
    throw new Error(
      `profile name "${profile.name}" must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
  const logging = profile.logging ?? 'cloudwatch';
  if (typeof logging === 'string') {
    if (logging !== 'cloudwatch' && logging !== 'none') {
      throw new Error(`profile "${profile.name}": logging must be "cloudwatch", "none" or { "splunk": … }`);
    }
    return;
  }
  const splunk = logging.splunk;
  if (!splunk || !/^https:\/\//.test(splunk.url) || !SECRET_COMPLETE_ARN.test(splunk.tokenSecretArn)) {
    throw new Error(
      `profile "${profile.name}": logging.splunk needs an https "url" and the complete ARN of the token secret in "tokenSecretArn"`,
    );
  }
}

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(.+))?$/;

/** An ECR image becomes a repository reference (so the execution role gets pull rights on it only). */
function containerImage(scope: Construct, image: string): ecs.ContainerImage {
  const match = ECR_IMAGE.exec(image);
  if (!match) return ecs.ContainerImage.fromRegistry(image);
  const [, account, region, repositoryName = '', tag, digest] = match;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'Repository', {
    repositoryName,
    repositoryArn: Arn.format({
      partition: Aws.PARTITION,
      service: 'ecr',
      region,
      account,
      resource: 'repository',
      resourceName: repositoryName,
    }),
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}

/**
 * The base task definition of one profile. The runtime derives each chat's own task definition from
 * it, adding that chat's EFS volume; this base already mounts the shared dependencies and tools
 * read-only over TLS through their access points. Runs on Fargate arm64 and logs to CloudWatch.
 */
export class SandboxTaskDefinition extends Construct {
  readonly profileName: string;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly containerName: string;
  readonly port: number;
  /** What one task of this profile holds, for the usage ledger: vCPUs and GiB of memory. */
  readonly size: { readonly vcpu: number; readonly memoryGiB: number };
  /** Roles the runtime passes when it registers or runs derived task definitions. */
  readonly passRoles: readonly iam.IRole[];
  /**
   * Where the awslogs driver writes its tasks' output: stream `<streamPrefix>/<containerName>/<task id>`.
   * Absent when the profile logs elsewhere or not at all.
   */
  readonly logGroup?: logs.LogGroup;
  readonly streamPrefix: string;

  constructor(scope: Construct, id: string, props: SandboxTaskDefinitionProps) {
    super(scope, id);
    const { profile, storage } = props;
    validateProfile(profile);
    this.profileName = profile.name;
    this.containerName = profile.containerName ?? 'sandbox';
    this.port = profile.port;
    this.size = { vcpu: profile.cpu / 1024, memoryGiB: profile.memoryMiB / 1024 };

    const taskRole = profile.taskRoleManagedPolicyArns
      ? new iam.Role(this, 'TaskRole', {
          assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
          description: `Sandbox profile ${profile.name}`,
          managedPolicies: profile.taskRoleManagedPolicyArns.map((arn, i) =>
            iam.ManagedPolicy.fromManagedPolicyArn(this, `TaskPolicy${i}`, arn),
          ),
        })
      : undefined;
    if (taskRole && profile.taskRoleManagedPolicyArns) {
      // cdk-nag names an AWS managed policy finding `Policy::<arn>`; each one is the operator's choice.
      for (const arn of profile.taskRoleManagedPolicyArns) {
        Validations.of(taskRole).acknowledge({
          id: `AwsSolutions-IAM4[Policy::${arn}]`,
          reason: `The operator gave this managed policy to profile ${profile.name} (taskRoleManagedPolicyArns); without the option the sandbox has no task role.`,
        });
      }
    }

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: profile.cpu,
      memoryLimitMiB: profile.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole,
    });
    if (!taskRole) this.dropDefaultTaskRole();

    // Volume names match the ECS adapter's, which keeps these mounts when it derives a chat's definition.
    const shared = [
      {
        name: 'sandbox-dependencies',
        accessPoint: storage.dependenciesAccessPoint,
        path: props.sharedMountPaths.dependencies,
      },
      { name: VOLUME_NAMES.tools, accessPoint: storage.toolsAccessPoint, path: props.sharedMountPaths.tools },
    ];
    for (const volume of shared) {
      this.taskDefinition.addVolume({
        name: volume.name,
        efsVolumeConfiguration: {
          fileSystemId: storage.fileSystem.fileSystemId,
          transitEncryption: 'ENABLED',
          authorizationConfig: { accessPointId: volume.accessPoint.accessPointId, iam: 'DISABLED' },
        },
      });
    }

    this.streamPrefix = profile.name;
    const output = this.output(profile, props.logRetention);
    this.logGroup = output.logGroup;
    const container = this.taskDefinition.addContainer('Sandbox', {
      containerName: this.containerName,
      image: containerImage(this, profile.image),
      essential: true,
      portMappings: [{ containerPort: profile.port, protocol: ecs.Protocol.TCP }],
      ...(profile.command ? { command: [...profile.command] } : {}),
      ...(profile.user ? { user: profile.user } : {}),
      ...(profile.healthCheck
        ? { healthCheck: containerHealthCheck(profile.healthCheck, profile.port) }
        : {}),
      logging: output.driver,
    });
    if (profile.command?.some((part) => part.includes('${'))) {
      // A command holding a program (the example agent) has JavaScript template literals in it;
      // CloudFormation substitutes `${…}` only inside Fn::Sub, so they reach the container as written.
      Validations.of(this.taskDefinition).acknowledge({
        id: 'CloudFormation-Validate::E1029',
        reason:
          'The command is a program whose dollar-brace placeholders are its own template literals; the property is not an Fn::Sub.',
      });
    }
    container.addMountPoints(
      ...shared.map((volume) => ({ sourceVolume: volume.name, containerPath: volume.path, readOnly: true })),
    );

    const executionRole = this.taskDefinition.obtainExecutionRole();
    this.passRoles = taskRole ? [executionRole, taskRole] : [executionRole];

    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken supports no resource-level permissions; image layer reads are scoped to ' +
        'the profile’s repository.',
    });
  }

  /**
   * The profile's log driver. The awslogs driver forwards everything the container prints, with no
   * size or rate cap of its own: CloudWatch Logs bills each GB ingested, so an agent that prints a lot
   * costs accordingly (docs/deploy.md, usage costs).
   */
  private output(
    profile: SandboxProfile,
    retention: logs.RetentionDays,
  ): { driver?: ecs.LogDriver; logGroup?: logs.LogGroup } {
    const logging = profile.logging ?? 'cloudwatch';
    if (logging === 'cloudwatch') {
      const logGroup = new logs.LogGroup(this, 'Logs', { retention });
      return { logGroup, driver: ecs.LogDrivers.awsLogs({ streamPrefix: this.streamPrefix, logGroup }) };
    }
    if (logging === 'none') {
      Validations.of(this.taskDefinition).acknowledge({
        id: 'AwsSolutions-ECS7',
        reason: `The operator turned logging off for profile ${profile.name} (logging: "none"): what its sandboxes print is dropped.`,
      });
      return {};
    }
    const token = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'SplunkToken',
      logging.splunk.tokenSecretArn,
    );
    return {
      driver: ecs.LogDrivers.splunk({
        url: logging.splunk.url,
        secretToken: ecs.Secret.fromSecretsManager(token),
      }),
    };
  }

  /**
   * CDK always creates a task role; a sandbox without one must not carry it, so that code inside the
   * sandbox cannot obtain AWS credentials from the task metadata endpoint.
   */
  private dropDefaultTaskRole(): void {
    this.taskDefinition.node.tryRemoveChild('TaskRole');
    (this.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition).addPropertyDeletionOverride(
      'TaskRoleArn',
    );
  }
}
