import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AGENT_ID } from '../../src/core/model.js';
import { MAX_LIVE_LIMIT } from '../../src/core/quota-ports.js';
import { DEFAULT_STACK_PREFIX } from '../../src/names.js';
import type { AuthMode } from '../constructs/control-plane-api.js';
import type { SandboxEgress } from '../constructs/sandbox-cluster.js';
import type { ExistingVpcProps } from '../constructs/sandbox-network.js';
import type { SandboxLogging, SandboxProfile } from '../constructs/sandbox-task-definition.js';
import { exampleAgentContainer } from './example-agent.js';

/** Everything the app's stacks are configured with, parsed from CDK context (`-c key=value`). */
export interface AppConfig {
  readonly stackPrefix: string;
  readonly profiles: readonly SandboxProfile[];
  /** True when no image was given and the default profile runs the example agent (examples/agent/). */
  readonly exampleAgent: boolean;
  readonly existingVpc?: ExistingVpcProps;
  readonly authMode: AuthMode;
  readonly apiTokenHashes?: Readonly<Record<string, string>>;
  readonly sandboxEgress: SandboxEgress;
  readonly logRetention: logs.RetentionDays;
  /** Retention of the sandbox log groups (what agents print). */
  readonly sandboxLogRetention: logs.RetentionDays;
  /** The control plane's alarms ($0.10 per alarm metric-month). */
  readonly alarms: boolean;
  /** The CloudWatch dashboard ($3 per dashboard-month beyond the account's free three). */
  readonly dashboard: boolean;
  /** Container Insights on the sandbox cluster (metrics per task-definition family, one family per chat). */
  readonly containerInsights: boolean;
  readonly alarmTopicArn?: string;
  readonly automaticBackups: boolean;
  /** Default live-sandbox limits; unset keeps the functions' own (500 per tenant, 10 per owner). */
  readonly limits: { readonly tenantMaxLive?: number; readonly ownerMaxLive?: number };
  /** How long before an expiry `Sandbox Expiring` is sent; unset keeps the functions' 120 s. */
  readonly expiringLeadSeconds?: number;
  /** The agent of `POST /api/v1/create` without `agent_id`; unset keeps the functions' `default`. */
  readonly defaultAgentId?: string;
  /** How long the event archive keeps events. */
  readonly eventArchiveRetention: Duration;
  /** An https URL every lifecycle event is POSTed to, signed. */
  readonly webhookUrl?: string;
  /** Bytes an owner's chats may hold together through the storage routes; unset keeps the functions' 1 GiB. */
  readonly ownerStorageBytes?: number;
}

/** Reads one context value; `-c` values arrive as strings, `cdk.json` values as JSON. */
export type ContextReader = (key: string) => unknown;

/** An agent id context value (1-128 of `[A-Za-z0-9._:-]`), as the API accepts it. */
function agentId(read: ContextReader, key: string): string | undefined {
  const value = text(read, key);
  if (value !== undefined && !AGENT_ID.test(value)) {
    throw new Error(`context "${key}" must be 1-128 characters from A-Z a-z 0-9 . _ : -`);
  }
  return value;
}

function text(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`context "${key}" must be a string`);
  }
  return String(value);
}

function integer(read: ContextReader, key: string, fallback: number): number;
function integer(read: ContextReader, key: string, fallback?: number): number | undefined;
function integer(read: ContextReader, key: string, fallback?: number): number | undefined {
  const raw = text(read, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`context "${key}" must be a positive integer`);
  return value;
}

function flag(read: ContextReader, key: string, fallback: boolean): boolean {
  const raw = text(read, key);
  if (raw === undefined) return fallback;
  if (raw !== 'true' && raw !== 'false') throw new Error(`context "${key}" must be true or false`);
  return raw === 'true';
}

function oneOf<T extends string>(read: ContextReader, key: string, allowed: readonly T[], fallback: T): T {
  const raw = text(read, key) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new Error(`context "${key}" must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function json(read: ContextReader, key: string): unknown {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new Error(`context "${key}" must be valid JSON`);
  }
}

/** `-c sandboxHealthPath=/health`: the default profile's health check, an HTTP path on its port. */
function healthPath(read: ContextReader): Pick<SandboxProfile, 'healthCheck'> {
  const path = text(read, 'sandboxHealthPath');
  if (path === undefined) return {};
  if (!path.startsWith('/')) throw new Error('context "sandboxHealthPath" must be a path starting with /');
  return { healthCheck: { path } };
}

/**
 * The profiles: a JSON list, or one profile from the `sandbox*` keys. Without `sandboxImage`, that
 * profile runs the example agent on the public Node.js image, so the first sandbox of a fresh deploy
 * serves its port and becomes `running` (no Docker needed at deploy time).
 */
function profiles(read: ContextReader): { profiles: SandboxProfile[]; exampleAgent: boolean } {
  const custom = json(read, 'profiles');
  if (custom !== undefined) {
    if (!Array.isArray(custom) || custom.length === 0)
      throw new Error('context "profiles" must be a non-empty array');
    return { profiles: custom as SandboxProfile[], exampleAgent: false };
  }
  const image = text(read, 'sandboxImage');
  const port = integer(read, 'sandboxPort', 8080);
  const health = healthPath(read);
  const logging = oneOf<SandboxLogging & string>(
    read,
    'sandboxLogging',
    ['cloudwatch', 'none'],
    'cloudwatch',
  );
  return {
    profiles: [
      {
        name: text(read, 'sandboxProfile') ?? 'default',
        cpu: integer(read, 'sandboxCpu', 1024),
        memoryMiB: integer(read, 'sandboxMemoryMiB', 2048),
        port,
        logging,
        ...(image === undefined
          ? exampleAgentContainer(port, health.healthCheck?.path)
          : { image, ...health }),
      },
    ],
    exampleAgent: image === undefined,
  };
}

/** A comma-separated list of ids, blanks dropped. */
function idList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function existingVpc(read: ContextReader): ExistingVpcProps | undefined {
  const vpcId = text(read, 'vpcId');
  const subnetIds = text(read, 'subnetIds');
  const routeTableIds = text(read, 'routeTableIds');
  if (vpcId === undefined && subnetIds === undefined) {
    if (routeTableIds !== undefined) throw new Error('context "routeTableIds" needs "vpcId" and "subnetIds"');
    return undefined;
  }
  if (vpcId === undefined || subnetIds === undefined)
    throw new Error('context "vpcId" and "subnetIds" go together');
  return {
    vpcId,
    subnetIds: idList(subnetIds),
    assignPublicIp: flag(read, 'assignPublicIp', true),
    ...(routeTableIds === undefined ? {} : { routeTableIds: idList(routeTableIds) }),
  };
}

/** The owners' storage quota in bytes, within what the functions accept (a safe integer). */
function ownerStorageBytes(read: ContextReader): number | undefined {
  const value = integer(read, 'ownerStorageBytes');
  if (value !== undefined && !Number.isSafeInteger(value))
    throw new Error('context "ownerStorageBytes" must be at most 2^53 - 1');
  return value;
}

function retention(read: ContextReader, key: string, fallback: number): logs.RetentionDays {
  const days = integer(read, key, fallback);
  if (!(Object.values(logs.RetentionDays) as number[]).includes(days)) {
    throw new Error(`context "${key}" must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ...)`);
  }
  return days as logs.RetentionDays;
}

/** The webhook URL: https only, since deliveries leave the account over the internet. */
function webhookUrl(read: ContextReader): string | undefined {
  const value = text(read, 'webhookUrl');
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('context "webhookUrl" must be an https URL');
  }
  if (url.protocol !== 'https:') throw new Error('context "webhookUrl" must be an https URL');
  return value;
}

/** The expiring lead: 0, or at least two reconcile periods (the reconciler runs every minute). */
function expiringLead(read: ContextReader): number | undefined {
  const raw = text(read, 'expiringLeadSeconds');
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || (value > 0 && value < 120) || value > 86_400) {
    throw new Error('context "expiringLeadSeconds" must be 0 or from 120 to 86400');
  }
  return value;
}

/** A live-sandbox limit: synth refuses what the functions would refuse at their first call. */
function liveLimit(read: ContextReader, key: string): number | undefined {
  const value = integer(read, key);
  if (value !== undefined && value > MAX_LIVE_LIMIT)
    throw new Error(`context "${key}" must be at most ${MAX_LIVE_LIMIT}`);
  return value;
}

/** Parses and validates the app's context; throws with the key's name on a bad value. */
export function readAppConfig(read: ContextReader): AppConfig {
  const authMode = oneOf(read, 'authMode', ['iam', 'token'] as const, 'iam');
  const tokens = json(read, 'apiTokenHashes');
  const validTokens =
    tokens === undefined ||
    (typeof tokens === 'object' &&
      tokens !== null &&
      !Array.isArray(tokens) &&
      Object.entries(tokens).every(
        ([hash, tenant]) => /^[0-9a-f]{64}$/.test(hash) && typeof tenant === 'string',
      ));
  if (!validTokens) {
    throw new Error(
      'context "apiTokenHashes" must be a JSON object of sha256 hex (64 lowercase digits) -> tenant id',
    );
  }
  const { profiles: sandboxProfiles, exampleAgent } = profiles(read);
  const logRetention = retention(read, 'logRetentionDays', 30);
  return {
    stackPrefix: text(read, 'stackPrefix') ?? DEFAULT_STACK_PREFIX,
    profiles: sandboxProfiles,
    exampleAgent,
    existingVpc: existingVpc(read),
    authMode,
    apiTokenHashes: tokens as Record<string, string> | undefined,
    sandboxEgress: oneOf(read, 'sandboxEgress', ['all', 'https-only'] as const, 'https-only'),
    logRetention,
    sandboxLogRetention: retention(read, 'sandboxLogRetentionDays', logRetention),
    alarms: flag(read, 'alarms', true),
    dashboard: flag(read, 'dashboard', true),
    containerInsights: flag(read, 'containerInsights', false),
    alarmTopicArn: text(read, 'alarmTopicArn'),
    automaticBackups: flag(read, 'automaticBackups', true),
    limits: {
      tenantMaxLive: liveLimit(read, 'tenantMaxLive'),
      ownerMaxLive: liveLimit(read, 'ownerMaxLive'),
    },
    expiringLeadSeconds: expiringLead(read),
    defaultAgentId: agentId(read, 'defaultAgentId'),
    eventArchiveRetention: Duration.days(integer(read, 'eventArchiveRetentionDays', 30)),
    webhookUrl: webhookUrl(read),
    ownerStorageBytes: ownerStorageBytes(read),
  };
}
