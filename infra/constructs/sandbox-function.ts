import * as path from 'node:path';
import { type Duration, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_BUNDLING } from './function-bundling.js';
import { acknowledgeWildcardResources, type WildcardResource } from './nag.js';

/**
 * What a function needs to use one resource: the environment variables that name it and the grant
 * that lets the function act on it. Applied together by `SandboxFunction.bind`, so env and IAM never drift.
 */
export interface FunctionBinding {
  /** Variable name (from `ENV`) to value. */
  readonly environment: Readonly<Record<string, string>>;
  /** Grants the function its permissions on the resource; absent for plain configuration. */
  grant?(grantee: iam.IGrantable): void;
  /** Wildcard resources the grant uses on purpose, each with its reason (acknowledged for cdk-nag). */
  readonly wildcardResources?: readonly WildcardResource[];
}

/**
 * Where a function that must reach something only the VPC has runs: its subnets and security groups.
 * A function placed this way has no public IP, in a public subnet too, so it reaches only what the
 * VPC routes to without one (gateway endpoints, other VPC addresses).
 */
export interface FunctionVpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnets: readonly ec2.ISubnet[];
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  /**
   * The subnets are public. CDK refuses public subnets by default because a function there cannot
   * reach the internet; say true when it needs only gateway endpoints and VPC addresses. @default false
   */
  readonly allowPublicSubnet?: boolean;
}

/** The ENI actions Lambda performs with the function's role to attach it to a VPC (Lambda developer guide). */
const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** What a SandboxFunction is built from; the VPC placement and the file system are for the storage function. */
export interface SandboxFunctionProps {
  /** Absolute path of the TypeScript entry file (exports `handler`). */
  readonly entry: string;
  /** Repository root holding `package-lock.json` and `tsconfig.json`. */
  readonly projectRoot: string;
  readonly description: string;
  readonly timeout: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  readonly logRetention: logs.RetentionDays;
  /** Run inside the VPC. @default outside any VPC, like every function but the storage function */
  readonly vpcPlacement?: FunctionVpcPlacement;
  /**
   * A file system to mount (needs `vpcPlacement`); CDK adds the mount's IAM statements, the NFS rules
   * between the function's security groups and the file system's, and a dependency on its mount targets.
   * @default none
   */
  readonly filesystem?: lambda.FileSystem;
}

/**
 * The one way this app builds a Lambda function: Node.js 22 on arm64, bundled by local esbuild with
 * the AWS SDK inside the bundle (faster cold starts than the runtime's copy), minified with source maps,
 * X-Ray tracing, its own log group with bounded retention, and a role that can write only that log group
 * (and, for a function placed in the VPC, manage the network interfaces Lambda attaches it with).
 */
export class SandboxFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SandboxFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    const role = this.role;
    this.logGroup.grantWrite(role);
    const placement = props.vpcPlacement;
    if (placement) {
      // CDK attaches AWSLambdaVPCAccessExecutionRole only to a role it creates itself; this role is
      // ours, so the same ENI actions go inline (no AWS managed policy, no logs:CreateLogGroup on `*`).
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'VpcNetworkInterfaces',
          actions: VPC_NETWORK_INTERFACE_ACTIONS,
          resources: ['*'],
        }),
      );
    }

    const common = {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 512,
      logGroup: this.logGroup,
      role,
      // Stack traces point at the TypeScript sources through the bundle's source map.
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      // Spread only when set, so the functions outside the VPC keep exactly their template.
      ...(placement
        ? {
            vpc: placement.vpc,
            vpcSubnets: { subnets: [...placement.subnets] },
            securityGroups: [...placement.securityGroups],
            allowPublicSubnet: placement.allowPublicSubnet ?? false,
          }
        : {}),
      ...(props.filesystem ? { filesystem: props.filesystem } : {}),
    } satisfies Partial<lambda.FunctionProps>;

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      ...common,
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: FUNCTION_BUNDLING.target,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        banner: FUNCTION_BUNDLING.banner,
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourcemap,
        bundleAwsSDK: true,
        forceDockerBundling: false,
        // NodejsFunction runs esbuild in the project root, where the alias paths are relative to.
        esbuildArgs: {
          '--alias': Object.entries(FUNCTION_BUNDLING.alias).map(([from, to]) => `${from}=${to}`),
        },
      },
    });

    // One finding id covers every `*` resource of the role, so its reason names each of them.
    const unscoped = [
      'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
    ];
    if (placement) {
      unscoped.push(
        'The ENI actions Lambda uses to attach the function to its VPC are granted on * as in ' +
          'AWSLambdaVPCAccessExecutionRole (DescribeNetworkInterfaces works only on *; the ENIs get ids at run time).',
      );
    }
    if (props.filesystem) {
      unscoped.push(
        'CDK grants elasticfilesystem:ClientMount on * with a condition that names the one access point mounted.',
      );
    }
    Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: unscoped.join(' ') });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The project targets nodejs22.x on purpose: the runtime the code is built and tested for.',
    });
  }

  /** Sets each binding's environment variables and applies its grant, in one call. */
  bind(...bindings: readonly FunctionBinding[]): this {
    for (const binding of bindings) {
      for (const [name, value] of Object.entries(binding.environment)) {
        this.function.addEnvironment(name, value);
      }
      binding.grant?.(this.function);
      acknowledgeWildcardResources(this.role, binding.wildcardResources ?? []);
    }
    return this;
  }
}
