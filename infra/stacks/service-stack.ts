import * as path from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  ENV,
  METRIC_NAMESPACE,
  STORAGE_FUNCTION_TIMEOUT_SECONDS,
  STORAGE_MOUNT_PATH,
} from '../../src/names.js';
import {
  configBinding,
  eventBusBinding,
  sandboxLogsBinding,
  sandboxRuntimeBinding,
  sessionTableBinding,
  sessionTableReadBinding,
  storageFunctionBinding,
  storageTableBinding,
} from '../constructs/bindings.js';
import type { ChatFileSystem } from '../constructs/chat-file-system.js';
import { type AuthMode, ControlPlaneApi } from '../constructs/control-plane-api.js';
import { ControlPlaneMonitoring } from '../constructs/control-plane-monitoring.js';
import { ControlPlaneTriggers } from '../constructs/control-plane-triggers.js';
import { EventDelivery } from '../constructs/event-delivery.js';
import { SandboxCluster, type SandboxEgress } from '../constructs/sandbox-cluster.js';
import { SandboxFunction, type SandboxFunctionProps } from '../constructs/sandbox-function.js';
import type { SandboxNetwork } from '../constructs/sandbox-network.js';
import type { SandboxProfile } from '../constructs/sandbox-task-definition.js';

/** Lifecycle settings passed to the functions; unset ones keep the functions' own defaults. */
export interface LifecycleSettings {
  /** The agent of a create through the original service's route without `agent_id`. */
  readonly defaultAgentId?: string;
  readonly minIdleTimeoutSeconds?: number;
  readonly defaultIdleTimeoutSeconds?: number;
  readonly defaultMaxLifetimeSeconds?: number;
  readonly expiringLeadSeconds?: number;
  readonly volumeRetireAfterDays?: number;
  readonly launchLeaseSeconds?: number;
  readonly provisioningTimeoutSeconds?: number;
  /** Live sandboxes a tenant may hold, unless the operator set its own limit in the table. */
  readonly tenantMaxLive?: number;
  /** Live sandboxes one owner (end user) may hold, unless the operator set the tenant's own. */
  readonly ownerMaxLive?: number;
}

/** What the service stack is built from: the stateful stack's resources and the app's settings. */
export interface ServiceStackProps extends StackProps {
  readonly network: SandboxNetwork;
  readonly table: dynamodb.ITable;
  readonly storage: ChatFileSystem;
  readonly profiles: readonly SandboxProfile[];
  /** @default 'iam' */
  readonly authMode?: AuthMode;
  /** Token mode only: sha256 hex of each bearer token -> tenant id. */
  readonly apiTokenHashes?: Readonly<Record<string, string>>;
  /** Repository root: holds `functions/` and `package-lock.json`. */
  readonly projectRoot: string;
  /** Retention of the functions' and the API's log groups. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Retention of the sandbox log groups. @default `logRetention` */
  readonly sandboxLogRetention?: logs.RetentionDays;
  /** @default 'https-only' */
  readonly sandboxEgress?: SandboxEgress;
  /** Which billed observability resources to create. @default alarms and dashboard, no Container Insights */
  readonly monitoring?: {
    readonly alarms?: boolean;
    readonly dashboard?: boolean;
    readonly containerInsights?: boolean;
  };
  readonly alarmTopicArn?: string;
  /** Prefix of the per-chat task-definition families. @default `<stack name>-chat` */
  readonly taskFamilyPrefix?: string;
  readonly lifecycle?: LifecycleSettings;
  /**
   * Bytes an owner's chats may hold together through the storage routes (the storage function
   * enforces it, the api function reports it in `GET /v1/usage`). @default the functions' 1 GiB
   */
  readonly ownerStorageBytes?: number;
  /** The lifecycle event bus (the stateful stack's). */
  readonly eventBus: events.IEventBus;
  /** POST every lifecycle event here, signed with a key kept in Secrets Manager. @default no webhook */
  readonly webhookUrl?: string;
}

const LIFECYCLE_ENV: Record<keyof LifecycleSettings, string> = {
  defaultAgentId: ENV.defaultAgentId,
  minIdleTimeoutSeconds: ENV.minIdleTimeoutSeconds,
  defaultIdleTimeoutSeconds: ENV.defaultIdleTimeoutSeconds,
  defaultMaxLifetimeSeconds: ENV.defaultMaxLifetimeSeconds,
  expiringLeadSeconds: ENV.expiringLeadSeconds,
  volumeRetireAfterDays: ENV.volumeRetireAfterDays,
  launchLeaseSeconds: ENV.launchLeaseSeconds,
  provisioningTimeoutSeconds: ENV.provisioningTimeoutSeconds,
  tenantMaxLive: ENV.tenantMaxLive,
  ownerMaxLive: ENV.ownerMaxLive,
};

/**
 * The stateless part of the control plane: the sandbox cluster and its task definitions, the HTTP API,
 * the functions, their triggers and the alarms and dashboard. Safe to destroy and redeploy.
 */
export class ServiceStack extends Stack {
  readonly sandboxes: SandboxCluster;
  readonly api: ControlPlaneApi;
  readonly functions: {
    readonly api: SandboxFunction;
    readonly taskEvents: SandboxFunction;
    readonly reconciler: SandboxFunction;
    readonly eventPublisher: SandboxFunction;
    readonly webhook?: SandboxFunction;
    readonly logs: SandboxFunction;
    /** The chat storage routes, inside the VPC with the chats mounted. */
    readonly storage: SandboxFunction;
  };
  readonly triggers: ControlPlaneTriggers;
  readonly events: EventDelivery;
  readonly monitoring: ControlPlaneMonitoring;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const authMode = props.authMode ?? 'iam';

    this.sandboxes = new SandboxCluster(this, 'Sandboxes', {
      vpc: props.network.vpc,
      storage: props.storage,
      profiles: props.profiles,
      logRetention: props.sandboxLogRetention ?? logRetention,
      egress: props.sandboxEgress,
      containerInsights: props.monitoring?.containerInsights,
    });

    const storageSecurityGroup = this.storageSecurityGroup(props);
    const fn = (
      id: string,
      file: string,
      description: string,
      timeout: Duration,
      more: Pick<SandboxFunctionProps, 'memorySize' | 'vpcPlacement' | 'filesystem'> = {},
    ) =>
      new SandboxFunction(this, id, {
        entry: path.join(props.projectRoot, 'functions', file),
        projectRoot: props.projectRoot,
        description,
        timeout,
        logRetention,
        ...more,
      });
    this.functions = {
      // API Gateway gives up after 30 s, so the api function must answer before that.
      api: fn('ApiFunction', 'api.ts', 'Sandbox control plane HTTP API', Duration.seconds(29)),
      taskEvents: fn(
        'TaskEventsFunction',
        'task-events.ts',
        'Applies ECS task state changes',
        Duration.seconds(30),
      ),
      // Shorter than the one-minute schedule, so runs end before the next one starts.
      reconciler: fn(
        'ReconcilerFunction',
        'reconciler.ts',
        'Reconciles sandbox sessions',
        Duration.seconds(55),
      ),
      eventPublisher: fn(
        'EventPublisherFunction',
        'event-publisher.ts',
        'Puts sandbox lifecycle events on the event bus',
        Duration.seconds(30),
      ),
      // Its own function: the CloudWatch Logs client would not fit in the api function's bundle budget.
      logs: fn('LogsFunction', 'logs.ts', 'Reads sandbox logs for the HTTP API', Duration.seconds(15)),
      // The chats are on EFS, which only the VPC reaches; the api function stays outside it (no NAT,
      // nothing billed while idle) and API Gateway sends the storage routes here. The timeout is what
      // a purge outwaits before it removes a chat (STORAGE_FUNCTION_TIMEOUT_SECONDS); 1024 MB because a
      // 4 MiB file is held base64-encoded and decoded, and Lambda's CPU share grows with memory.
      storage: fn(
        'StorageFunction',
        'storage.ts',
        'Chat storage routes (inside the VPC, EFS mounted)',
        Duration.seconds(STORAGE_FUNCTION_TIMEOUT_SECONDS),
        {
          memorySize: 1024,
          vpcPlacement: {
            vpc: props.network.vpc,
            subnets: props.network.selectedSubnets,
            securityGroups: [storageSecurityGroup],
            // Sandboxes get public IPs exactly in public subnets (the default VPC has no others).
            allowPublicSubnet: props.network.assignPublicIp,
          },
          filesystem: lambda.FileSystem.fromEfsAccessPoint(
            props.storage.chatsAccessPoint,
            STORAGE_MOUNT_PATH,
          ),
        },
      ),
      ...(props.webhookUrl
        ? {
            webhook: fn(
              'WebhookFunction',
              'webhook.ts',
              'Delivers sandbox lifecycle events to the webhook',
              Duration.seconds(30),
            ),
          }
        : {}),
    };

    const runtime = (access: 'manage' | 'stop') =>
      sandboxRuntimeBinding({
        sandboxes: this.sandboxes,
        storage: props.storage,
        subnets: props.network.selectedSubnets,
        assignPublicIp: props.network.assignPublicIp,
        taskFamilyPrefix: props.taskFamilyPrefix ?? `${this.stackName}-chat`,
        access,
      });
    const table = sessionTableBinding(props.table);
    const healthChecked = props.profiles
      .filter((profile) => profile.healthCheck)
      .map((profile) => profile.name);
    const lifecycle = configBinding({
      ...Object.fromEntries(
        Object.entries(props.lifecycle ?? {})
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [LIFECYCLE_ENV[key as keyof LifecycleSettings], String(value)]),
      ),
      ...(healthChecked.length > 0 ? { [ENV.healthCheckedProfiles]: healthChecked.join(',') } : {}),
    });
    const observability = configBinding({ [ENV.metricsNamespace]: METRIC_NAMESPACE });
    const storageQuota = configBinding(
      props.ownerStorageBytes === undefined
        ? {}
        : { [ENV.ownerStorageBytes]: String(props.ownerStorageBytes) },
    );
    this.functions.api.bind(
      table,
      runtime('manage'),
      lifecycle,
      observability,
      configBinding(authEnvironment(authMode, props)),
      storageQuota,
    );
    this.functions.storage.bind(
      storageTableBinding(props.table),
      // No ENV.maxFileBytes: the function's default is the most Lambda's payload limit lets through.
      configBinding({ [ENV.chatsRoot]: STORAGE_MOUNT_PATH }),
      storageQuota,
      // It parses the lifecycle section like every API function, so it gets the same settings.
      lifecycle,
      observability,
      configBinding(authEnvironment(authMode, props)),
    );
    this.functions.logs.bind(
      sessionTableReadBinding(props.table),
      sandboxLogsBinding(this.sandboxes),
      // The profiles (names, allow-lists) for the OpenAPI document it serves: only configuration.
      configBinding({ [ENV.profiles]: this.sandboxes.profilesJson() }),
      lifecycle,
      observability,
      configBinding(authEnvironment(authMode, props)),
    );
    this.functions.reconciler.bind(
      table,
      runtime('manage'),
      lifecycle,
      observability,
      storageFunctionBinding(this.functions.storage.function),
    );
    this.functions.taskEvents.bind(table, runtime('stop'), lifecycle, observability);

    this.api = new ControlPlaneApi(this, 'Api', {
      handler: this.functions.api.function,
      logsHandler: this.functions.logs.function,
      storageHandler: this.functions.storage.function,
      authMode,
      logRetention,
    });
    this.triggers = new ControlPlaneTriggers(this, 'Triggers', {
      cluster: this.sandboxes.cluster,
      taskEvents: this.functions.taskEvents.function,
      reconciler: this.functions.reconciler.function,
    });
    this.functions.eventPublisher.bind(eventBusBinding(props.eventBus), observability);
    this.events = new EventDelivery(this, 'Events', {
      table: props.table,
      bus: props.eventBus,
      publisher: this.functions.eventPublisher.function,
      webhook: this.functions.webhook?.function,
      deadLetterQueue: this.triggers.deadLetterQueue,
    });
    if (this.functions.webhook && this.events.webhookSecret && props.webhookUrl) {
      this.functions.webhook.bind(
        configBinding({
          [ENV.webhookUrl]: props.webhookUrl,
          [ENV.webhookSecretArn]: this.events.webhookSecret.secretArn,
        }),
        observability,
      );
      new CfnOutput(this, 'WebhookSecretArn', {
        value: this.events.webhookSecret.secretArn,
        description: 'The key webhook deliveries are signed with; give its value to the receiver',
      });
    }
    this.monitoring = new ControlPlaneMonitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      functions: {
        api: this.functions.api.function,
        taskEvents: this.functions.taskEvents.function,
        reconciler: this.functions.reconciler.function,
        eventPublisher: this.functions.eventPublisher.function,
        logs: this.functions.logs.function,
        storage: this.functions.storage.function,
        ...(this.functions.webhook ? { webhook: this.functions.webhook.function } : {}),
      },
      reconcilerLogs: this.functions.reconciler.logGroup,
      deadLetterQueue: this.triggers.deadLetterQueue,
      table: props.table,
      cluster: this.sandboxes.cluster,
      alarmTopicArn: props.alarmTopicArn,
      ...props.monitoring,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the control plane API' });
    new CfnOutput(this, 'InvokePolicyArn', {
      value: this.api.invokePolicy.managedPolicyArn,
      description: 'Attach to the IAM roles of hosted agents (IAM auth mode)',
    });
    new CfnOutput(this, 'ClientsSecurityGroupId', {
      value: this.sandboxes.clientsSecurityGroup.securityGroupId,
      description: 'Attach to whatever calls sandbox endpoints; only it reaches the agent port',
      exportName: `${this.stackName}-ClientsSecurityGroupId`,
    });
    if (this.monitoring.dashboard) {
      new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    }
    this.logGroupOutputs();
  }

  /**
   * The storage function's security group: NFS to the file system's mount targets, which admit it,
   * and HTTPS towards DynamoDB; nothing else in or out.
   */
  private storageSecurityGroup(props: ServiceStackProps): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'StorageFunctionSecurityGroup', {
      vpc: props.network.vpc,
      description: 'Storage function: NFS to the chat file system and HTTPS to DynamoDB only',
      allowAllOutbound: false,
    });
    const nfs = ec2.Port.tcp(2049);
    group.addEgressRule(props.storage.securityGroup, nfs, 'NFS to the chat file system');
    // DynamoDB's addresses are the AWS-managed prefix list its gateway endpoint routes, but neither
    // CloudFormation nor CDK gives that list's id without a synth-time lookup, and synthesis stays
    // offline. So 443 is open to any IPv4 address. A Lambda ENI never has a public IP, so in public
    // subnets that reaches DynamoDB and addresses inside the VPC only; private subnets with a NAT
    // gateway would let it out to the internet, where its role still grants nothing but the session
    // table, its log group and X-Ray.
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'DynamoDB, through the gateway endpoint');
    // `remoteRule` places this ingress rule of the stateful stack's group in this stack, next to its
    // source, as the sandbox cluster does: the stateful stack never refers to this one.
    props.storage.securityGroup.addIngressRule(
      group,
      nfs,
      'NFS from the storage function to the chat file system',
      true,
    );
    return group;
  }

  /**
   * One output per log group, since CDK generates their names: each function's, the API's access log
   * and each CloudWatch-logging profile's sandbox log (docs/operate.md, log groups).
   */
  private logGroupOutputs(): void {
    const functions: [string, SandboxFunction | undefined][] = [
      ['ApiFunctionLogGroup', this.functions.api],
      ['LogsFunctionLogGroup', this.functions.logs],
      ['StorageFunctionLogGroup', this.functions.storage],
      ['TaskEventsFunctionLogGroup', this.functions.taskEvents],
      ['ReconcilerFunctionLogGroup', this.functions.reconciler],
      ['EventPublisherFunctionLogGroup', this.functions.eventPublisher],
      ['WebhookFunctionLogGroup', this.functions.webhook],
    ];
    for (const [id, fn] of functions) {
      if (fn)
        new CfnOutput(this, id, {
          value: fn.logGroup.logGroupName,
          description: `Log group of ${fn.node.id}`,
        });
    }
    new CfnOutput(this, 'ApiAccessLogGroup', {
      value: this.api.accessLogs.logGroupName,
      description: 'API Gateway access log (one JSON line per request)',
    });
    const ids = new Set<string>();
    for (const profile of this.sandboxes.cloudWatchProfiles) {
      const id = `SandboxLogGroup${profile.profileName.replace(/[^A-Za-z0-9]/g, '')}`;
      if (ids.has(id)) throw new Error(`profile names ${profile.profileName} and another share output ${id}`);
      ids.add(id);
      new CfnOutput(this, id, {
        value: profile.logGroup.logGroupName,
        description: `What sandboxes of profile ${profile.profileName} print (stream <profile>/<container>/<task id>)`,
      });
    }
  }
}

/** Auth settings of the api function; token mode requires at least one token hash. */
function authEnvironment(authMode: AuthMode, props: ServiceStackProps): Record<string, string> {
  if (authMode === 'iam') return { [ENV.authMode]: 'iam' };
  const hashes = props.apiTokenHashes ?? {};
  if (Object.keys(hashes).length === 0) {
    throw new Error('authMode "token" needs apiTokenHashes (sha256 hex of each token -> tenant id)');
  }
  return { [ENV.authMode]: 'token', [ENV.apiTokens]: JSON.stringify(hashes) };
}
