import * as path from 'node:path';
import { type Duration, Validations } from 'aws-cdk-lib';
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
}

/**
 * The one way this app builds a Lambda function: Node.js 22 on arm64, bundled by local esbuild with
 * the AWS SDK inside the bundle (faster cold starts than the runtime's copy), minified with source maps,
 * X-Ray tracing, its own log group with bounded retention, and a role that can write only that log group.
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

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.',
    });
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
