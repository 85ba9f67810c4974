import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Logical ID of the file system; changing it would replace the file system and lose every chat's files. */
export const CHAT_FILE_SYSTEM_LOGICAL_ID = 'ChatFileSystem';

/** POSIX identity every sandbox process runs as on EFS; access points enforce it. */
export interface PosixIdentity {
  readonly uid: number;
  readonly gid: number;
}

export interface ChatFileSystemProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** @default uid 1000, gid 1000 */
  readonly posixUser?: PosixIdentity;
  /** Daily AWS Backup of the file system. @default true */
  readonly automaticBackups?: boolean;
}

/**
 * The EFS file system that holds every chat's directory plus shared, read-only dependencies and tools.
 *
 * The file system policy is written here in full. CDK's `denyAnonymousAccess` default writes a policy
 * without `ClientMount`, which makes every mount fail; this policy instead allows mount and write only
 * through an access point of this account, over TLS, via a mount target, and denies any non-TLS request.
 * Root access is never granted: access points enforce the POSIX user.
 */
export class ChatFileSystem extends Construct {
  readonly fileSystem: efs.FileSystem;
  /**
   * Guards the mount targets; the service stack admits NFS from the sandbox and storage function
   * security groups only. (Its description predates the storage function and stays: changing it
   * would replace the group.)
   */
  readonly securityGroup: ec2.SecurityGroup;
  /** Shared dependencies, mounted read-only by every sandbox. */
  readonly dependenciesAccessPoint: efs.AccessPoint;
  /** Shared tools, mounted read-only by every sandbox. */
  readonly toolsAccessPoint: efs.AccessPoint;
  /**
   * `/chats`, every chat's directory below it: the storage function's only way in. It acts as the
   * sandboxes' POSIX user, so files it writes belong to them and theirs stay readable to it.
   */
  readonly chatsAccessPoint: efs.AccessPoint;
  /** Owner of every directory on the file system; per-chat access points use it too. */
  readonly posixUser: PosixIdentity;

  constructor(scope: Construct, id: string, props: ChatFileSystemProps) {
    super(scope, id);
    const posixUser = props.posixUser ?? { uid: 1000, gid: 1000 };
    this.posixUser = posixUser;

    this.securityGroup = new ec2.SecurityGroup(this, 'MountTargetSecurityGroup', {
      vpc: props.vpc,
      description: 'EFS mount targets for agent sandboxes: NFS from the sandbox security group only',
      allowAllOutbound: false,
    });

    this.fileSystem = new efs.FileSystem(this, 'FileSystem', {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: this.securityGroup,
      encrypted: true,
      throughputMode: efs.ThroughputMode.ELASTIC,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      outOfInfrequentAccessPolicy: efs.OutOfInfrequentAccessPolicy.AFTER_1_ACCESS,
      enableAutomaticBackups: props.automaticBackups ?? true,
      removalPolicy: RemovalPolicy.RETAIN,
      fileSystemPolicy: this.mountPolicy(),
      // The policy above is the whole policy: this stops CDK from appending its own statement, it does
      // not open the file system (the policy admits nothing but TLS mounts through access points).
      allowAnonymousAccess: true,
    });
    (this.fileSystem.node.defaultChild as efs.CfnFileSystem).overrideLogicalId(CHAT_FILE_SYSTEM_LOGICAL_ID);

    this.dependenciesAccessPoint = this.sharedAccessPoint(
      'DependenciesAccessPoint',
      '/shared/dependencies',
      posixUser,
    );
    this.toolsAccessPoint = this.sharedAccessPoint('ToolsAccessPoint', '/shared/tools', posixUser);
    this.chatsAccessPoint = this.fileSystem.addAccessPoint('ChatsAccessPoint', {
      path: '/chats',
      posixUser: { uid: String(posixUser.uid), gid: String(posixUser.gid) },
      // 750, the mode per-chat access points create chat directories with: only the sandbox user
      // writes, and no other uid reads chats (CreationInfo applies only if `/chats` does not exist yet).
      createAcl: { ownerUid: String(posixUser.uid), ownerGid: String(posixUser.gid), permissions: '750' },
    });
  }

  /** ARN pattern matching every access point in this account and region (access point ARNs carry no file system id). */
  static accessPointArnPattern(scope: Construct): string {
    return Stack.of(scope).formatArn({
      service: 'elasticfilesystem',
      resource: 'access-point',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private mountPolicy(): iam.PolicyDocument {
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'DenyWithoutTls',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['*'],
          conditions: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'AllowMountThroughAccessPointsOverTls',
          effect: iam.Effect.ALLOW,
          principals: [new iam.AnyPrincipal()],
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
          conditions: {
            Bool: { 'aws:SecureTransport': 'true', 'elasticfilesystem:AccessedViaMountTarget': 'true' },
            StringLike: { 'elasticfilesystem:AccessPointArn': ChatFileSystem.accessPointArnPattern(this) },
          },
        }),
      ],
    });
  }

  private sharedAccessPoint(id: string, path: string, user: PosixIdentity): efs.AccessPoint {
    return this.fileSystem.addAccessPoint(id, {
      path,
      posixUser: { uid: String(user.uid), gid: String(user.gid) },
      // Without CreationInfo the directory is never created and the mount fails with ENOENT.
      createAcl: { ownerUid: String(user.uid), ownerGid: String(user.gid), permissions: '755' },
    });
  }
}
