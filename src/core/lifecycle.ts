import type { FieldError } from './errors.js';

/** Lifecycle settings core needs; src/config parses them from the environment. Units are in the names. */
export interface LifecycleConfig {
  /** Names of the configured sandbox profiles. */
  readonly profiles: readonly string[];
  readonly defaultProfile: string;
  /** The agent a create of the original service's routes runs when it names none. */
  readonly defaultAgentId: string;
  /**
   * Profiles in strict mode: profile name -> the env name patterns (`APP_*`) its sandboxes accept.
   * A profile not listed accepts any name the env policy allows.
   */
  readonly envAllowLists?: Readonly<Record<string, readonly string[]>>;
  readonly minIdleTimeoutSeconds: number;
  readonly defaultIdleTimeoutSeconds: number;
  readonly maxIdleTimeoutSeconds: number;
  readonly defaultMaxLifetimeSeconds: number;
  readonly maxLifetimeCapSeconds: number;
  /** How long a launch may take before the reconciler looks at the session again. */
  readonly launchLeaseSeconds: number;
  /** After this long in `provisioning` a session fails, whatever the runtime says. */
  readonly provisioningTimeoutSeconds: number;
  /** Launches the runtime accepted whose task then went missing, before the session fails. */
  readonly maxLaunchAttempts: number;
  /** Wait before the reconciler retries a throttled launch. */
  readonly launchRetrySeconds: number;
  /** How long a stop may take before the reconciler checks on it. */
  readonly stopGraceSeconds: number;
  readonly maxStopAttempts: number;
  /** How long terminal records are kept before TTL removes them. */
  readonly retentionSeconds: number;
  /**
   * How long a task the runtime runs that no session names (a stranger: started by hand, by another
   * deployment, or for a tenant the directory lost) may run before the reconciler stops it.
   */
  readonly strangerGraceSeconds: number;
  /**
   * How long before a running sandbox's expiry (idle or lifetime) the reconciler announces it with a
   * `Sandbox Expiring` event; 0 announces nothing. At least two reconcile periods, so one missed
   * pass still warns in time.
   */
  readonly expiringLeadSeconds: number;
  /** Live-sandbox limits by default (a tenant's overrides, set by an operator, win). */
  readonly quotas: QuotaDefaults;
  /**
   * Profiles that declare a health check: their sandboxes become `running` only once the runtime
   * reports the check passed; a profile not listed is running as soon as its task runs.
   */
  readonly healthCheckedProfiles?: readonly string[];
  /** The size of a profile's sandbox, for the usage ledger (vCPU-seconds, GiB-seconds). */
  readonly profileSizes?: Readonly<Record<string, ProfileSize>>;
}

export interface QuotaDefaults {
  /** Live (provisioning, running, stopping) sandboxes per tenant. */
  readonly tenantMaxLive: number;
  /** Live sandboxes per owner. */
  readonly ownerMaxLive: number;
  /** A unit taken and followed by no session is given back after this long (crash, lost claim). */
  readonly repairGraceSeconds: number;
}

export interface ProfileSize {
  readonly vcpu: number;
  readonly memoryGiB: number;
}

export const DEFAULT_LIFECYCLE: LifecycleConfig = {
  profiles: ['default'],
  defaultProfile: 'default',
  defaultAgentId: 'default',
  minIdleTimeoutSeconds: 60,
  defaultIdleTimeoutSeconds: 900,
  maxIdleTimeoutSeconds: 86_400,
  defaultMaxLifetimeSeconds: 28_800,
  maxLifetimeCapSeconds: 86_400,
  launchLeaseSeconds: 180,
  provisioningTimeoutSeconds: 600,
  maxLaunchAttempts: 3,
  launchRetrySeconds: 10,
  stopGraceSeconds: 60,
  maxStopAttempts: 5,
  retentionSeconds: 7 * 86_400,
  strangerGraceSeconds: 180,
  expiringLeadSeconds: 120,
  quotas: { tenantMaxLive: 500, ownerMaxLive: 10, repairGraceSeconds: 60 },
};

/** The field error for an idle timeout outside the configured bounds, or null if it is within them. */
export function idleTimeoutError(config: LifecycleConfig, idleTimeoutSeconds: number): FieldError | null {
  if (
    idleTimeoutSeconds >= config.minIdleTimeoutSeconds &&
    idleTimeoutSeconds <= config.maxIdleTimeoutSeconds
  ) {
    return null;
  }
  return {
    path: 'idleTimeoutSeconds',
    message: `must be between ${config.minIdleTimeoutSeconds} and ${config.maxIdleTimeoutSeconds}`,
  };
}

/** Whether a session of `profile` must pass its health check before it is running. */
export function needsHealthCheck(
  config: Pick<LifecycleConfig, 'healthCheckedProfiles'>,
  profile: string,
): boolean {
  return config.healthCheckedProfiles?.includes(profile) ?? false;
}
