import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ChatFileSystem } from './chat-file-system.js';
import {
  DEFAULT_SHARED_MOUNT_PATHS,
  type SandboxProfile,
  SandboxTaskDefinition,
  type SharedMountPaths,
} from './sandbox-task-definition.js';

/** What sandboxes may reach: everything (`all`) or only HTTPS and the file system (`https-only`). */
export type SandboxEgress = 'all' | 'https-only';

export interface SandboxClusterProps {
  readonly vpc: ec2.IVpc;
  readonly storage: ChatFileSystem;
  readonly profiles: readonly SandboxProfile[];
  /** Retention of the sandbox log groups. */
  readonly logRetention: logs.RetentionDays;
  /** @default 'https-only' */
  readonly egress?: SandboxEgress;
  readonly sharedMountPaths?: SharedMountPaths;
  /**
   * Container Insights on the cluster. Its metrics carry the task-definition family, and every chat
   * has a family of its own, so the metric count grows with the chats. @default false
   */
  readonly containerInsights?: boolean;
}

/** A profile-shaped name no profile can take (profile names start with a letter or digit). */
const NO_STREAMS_PROFILE = '.no-cloudwatch-logs';

/**
 * The entry `SANDBOX_LOG_STREAMS` holds when no profile logs to CloudWatch: the logs function's
 * configuration requires at least one entry, and no session can carry this profile name, so every
 * read answers no lines. Its group is never created and never granted.
 */
const NO_STREAMS_ENTRY = {
  logGroupName: 'agent-sandbox-no-cloudwatch-logs',
  streamPrefix: 'none',
  containerName: 'none',
};

/**
 * The ECS cluster the sandboxes run in, their security groups and one base task definition per profile.
 *
 * Network rules: the sandbox security group accepts each profile's agent port only from the "clients"
 * security group (attach it to whatever runs the hosted agent); the file system's mount targets accept
 * NFS only from the sandbox security group.
 */
export class SandboxCluster extends Construct {
  readonly cluster: ecs.Cluster;
  readonly sandboxSecurityGroup: ec2.SecurityGroup;
  readonly clientsSecurityGroup: ec2.SecurityGroup;
  readonly profiles: readonly SandboxTaskDefinition[];
  /** Where every profile mounts the shared dependencies and tools. */
  readonly sharedMountPaths: SharedMountPaths;

  constructor(scope: Construct, id: string, props: SandboxClusterProps) {
    super(scope, id);
    if (props.profiles.length === 0) throw new Error('at least one sandbox profile is required');
    const names = props.profiles.map((p) => p.name);
    if (new Set(names).size !== names.length)
      throw new Error(`duplicate sandbox profile names: ${names.join(', ')}`);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: props.containerInsights
        ? ecs.ContainerInsights.ENABLED
        : ecs.ContainerInsights.DISABLED,
      enableFargateCapacityProviders: true,
    });
    if (!props.containerInsights) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason:
          'Container Insights is off by default: its metrics are billed per task-definition family and every chat has one; ' +
          'the control plane publishes its own sandbox counts, and -c containerInsights=true turns it on.',
      });
    }

    const egress = props.egress ?? 'https-only';
    this.sandboxSecurityGroup = new ec2.SecurityGroup(this, 'SandboxSecurityGroup', {
      vpc: props.vpc,
      description: 'Agent sandboxes: agent port from the clients security group only',
      allowAllOutbound: egress === 'all',
    });
    const nfs = ec2.Port.tcp(2049);
    if (egress === 'https-only') {
      this.sandboxSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(443),
        'Image pulls and HTTPS APIs',
      );
      this.sandboxSecurityGroup.addEgressRule(
        props.storage.securityGroup,
        nfs,
        'NFS to the chat file system',
      );
    }
    // `remoteRule` places this ingress rule of the stateful stack's group in this stack, next to its source.
    props.storage.securityGroup.addIngressRule(
      this.sandboxSecurityGroup,
      nfs,
      'NFS from sandboxes to the chat file system',
      true,
    );

    this.clientsSecurityGroup = new ec2.SecurityGroup(this, 'ClientsSecurityGroup', {
      vpc: props.vpc,
      description: 'Attach to hosted agents that call their sandbox endpoint',
      allowAllOutbound: false,
    });
    for (const port of new Set(props.profiles.map((p) => p.port))) {
      this.clientsSecurityGroup.connections.allowTo(
        this.sandboxSecurityGroup,
        ec2.Port.tcp(port),
        `Agent port ${port} from clients to sandboxes`,
      );
    }

    this.sharedMountPaths = props.sharedMountPaths ?? DEFAULT_SHARED_MOUNT_PATHS;
    this.profiles = props.profiles.map(
      (profile) =>
        new SandboxTaskDefinition(this, `Profile-${profile.name}`, {
          profile,
          storage: props.storage,
          sharedMountPaths: this.sharedMountPaths,
          logRetention: props.logRetention,
        }),
    );
  }

  /** Every role the runtime passes to ECS: the profiles' execution roles and any task roles. */
  get passRoles(): readonly iam.IRole[] {
    return this.profiles.flatMap((p) => p.passRoles);
  }

  /** The profiles whose tasks log to a CloudWatch log group of this stack, with that group. */
  get cloudWatchProfiles(): readonly (SandboxTaskDefinition & { readonly logGroup: logs.LogGroup })[] {
    return this.profiles.filter((p): p is SandboxTaskDefinition & { logGroup: logs.LogGroup } =>
      Boolean(p.logGroup),
    );
  }

  /**
   * The `SANDBOX_LOG_STREAMS` value: profile name -> the log group, stream prefix and container name
   * its tasks log with (the awslogs driver names each task's stream `<prefix>/<container>/<task id>`).
   * Profiles that log elsewhere or not at all are absent, so the logs route answers no lines for them.
   */
  logStreamsJson(): string {
    const logging = this.cloudWatchProfiles;
    const streams =
      logging.length === 0
        ? { [NO_STREAMS_PROFILE]: NO_STREAMS_ENTRY }
        : Object.fromEntries(
            logging.map((p) => [
              p.profileName,
              {
                logGroupName: p.logGroup.logGroupName,
                streamPrefix: p.streamPrefix,
                containerName: p.containerName,
              },
            ]),
          );
    return Stack.of(this).toJsonString(streams);
  }

  /**
   * The `SANDBOX_PROFILES` value: profile name -> base task definition ARN, container name, port and
   * size (vCPUs and GiB, which the usage ledger multiplies by run time).
   */
  profilesJson(): string {
    const profiles = Object.fromEntries(
      this.profiles.map((p) => [
        p.profileName,
        {
          taskDefinitionArn: p.taskDefinition.taskDefinitionArn,
          containerName: p.containerName,
          port: p.port,
          vcpu: p.size.vcpu,
          memoryGiB: p.size.memoryGiB,
        },
      ]),
    );
    return Stack.of(this).toJsonString(profiles);
  }
}
