/**
 * The lifecycle settings, one schema for the functions and local mode alike: bounds per variable and
 * the relations between them. Local mode only brings other defaults (its launches take seconds).
 */
import { DEFAULT_LIFECYCLE, type LifecycleConfig, type ProfileSize } from '../core/lifecycle.js';
import { AGENT_ID } from '../core/model.js';
import { MAX_LIVE_LIMIT } from '../core/quota-ports.js';
import { ENV } from '../names.js';
import * as z from '../zod.js';
import { integer, section } from './env.js';

/** The defaults a host may change: everything else of `DEFAULT_LIFECYCLE` stays as it is. */
export type LifecycleDefaults = Partial<LifecycleConfig>;

/** Local processes start in tens of milliseconds, not Fargate's minutes. */
export const LOCAL_LIFECYCLE_DEFAULTS: LifecycleDefaults = {
  launchLeaseSeconds: 30,
  provisioningTimeoutSeconds: 120,
  launchRetrySeconds: 5,
  stopGraceSeconds: 15,
  strangerGraceSeconds: 30,
  // Two periods of the local reconciler (5 s by default) fit with room to spare.
  expiringLeadSeconds: 30,
};

/** How often the functions' reconciler runs (EventBridge Scheduler, every minute). */
export const AWS_RECONCILE_PERIOD_SECONDS = 60;

/** The profiles part of the lifecycle: names, the default, the allow-lists of strict profiles. */
export interface ProfileNames {
  readonly names: readonly string[];
  readonly envAllowLists: Readonly<Record<string, readonly string[]>>;
}

/**
 * The lifecycle variables, with `defaults` over the built-in ones. `reconcilePeriodSeconds` is how
 * often the host's reconciler runs: an expiry is announced at least two periods ahead.
 */
export function lifecycleSection(
  defaults: LifecycleDefaults = {},
  reconcilePeriodSeconds = AWS_RECONCILE_PERIOD_SECONDS,
) {
  const base = { ...DEFAULT_LIFECYCLE, ...defaults };
  return section({
    shape: {
      [ENV.defaultAgentId]: z._default(
        z.string().check(z.regex(AGENT_ID, 'must be 1-128 characters from A-Z a-z 0-9 . _ : -')),
        base.defaultAgentId,
      ),
      [ENV.minIdleTimeoutSeconds]: integer(base.minIdleTimeoutSeconds, 1, 86_400),
      [ENV.defaultIdleTimeoutSeconds]: integer(base.defaultIdleTimeoutSeconds, 1, 86_400),
      [ENV.defaultMaxLifetimeSeconds]: integer(base.defaultMaxLifetimeSeconds, 1, base.maxLifetimeCapSeconds),
      [ENV.launchLeaseSeconds]: integer(base.launchLeaseSeconds, 5, 3600),
      [ENV.provisioningTimeoutSeconds]: integer(base.provisioningTimeoutSeconds, 10, 7200),
      [ENV.strangerGraceSeconds]: integer(base.strangerGraceSeconds, 0, 86_400),
      [ENV.expiringLeadSeconds]: integer(base.expiringLeadSeconds, 0, 86_400),
      [ENV.healthCheckedProfiles]: z._default(
        z.string().check(z.regex(/^[A-Za-z0-9._,-]*$/, 'must be a comma list of profile names')),
        (base.healthCheckedProfiles ?? []).join(','),
      ),
      [ENV.tenantMaxLive]: integer(base.quotas.tenantMaxLive, 1, MAX_LIVE_LIMIT),
      [ENV.ownerMaxLive]: integer(base.quotas.ownerMaxLive, 1, MAX_LIVE_LIMIT),
    },
    crossChecks: (e) => {
      const problems: string[] = [];
      if (e[ENV.defaultIdleTimeoutSeconds] < e[ENV.minIdleTimeoutSeconds]) {
        problems.push(
          `${ENV.defaultIdleTimeoutSeconds}: must be at least ${ENV.minIdleTimeoutSeconds} (${e[ENV.minIdleTimeoutSeconds]})`,
        );
      }
      if (e[ENV.defaultMaxLifetimeSeconds] < e[ENV.defaultIdleTimeoutSeconds]) {
        problems.push(
          `${ENV.defaultMaxLifetimeSeconds}: must be at least ${ENV.defaultIdleTimeoutSeconds} (${e[ENV.defaultIdleTimeoutSeconds]})`,
        );
      }
      if (e[ENV.provisioningTimeoutSeconds] < e[ENV.launchLeaseSeconds]) {
        problems.push(
          `${ENV.provisioningTimeoutSeconds}: must be at least ${ENV.launchLeaseSeconds} (${e[ENV.launchLeaseSeconds]})`,
        );
      }
      const lead = e[ENV.expiringLeadSeconds];
      if (lead > 0 && lead < 2 * reconcilePeriodSeconds) {
        problems.push(
          `${ENV.expiringLeadSeconds}: must be 0 (no announcements) or at least two reconcile periods (${2 * reconcilePeriodSeconds})`,
        );
      }
      return problems;
    },
    build: (e): Omit<LifecycleConfig, 'profiles' | 'defaultProfile' | 'envAllowLists'> => ({
      ...base,
      defaultAgentId: e[ENV.defaultAgentId],
      minIdleTimeoutSeconds: e[ENV.minIdleTimeoutSeconds],
      defaultIdleTimeoutSeconds: e[ENV.defaultIdleTimeoutSeconds],
      defaultMaxLifetimeSeconds: e[ENV.defaultMaxLifetimeSeconds],
      launchLeaseSeconds: e[ENV.launchLeaseSeconds],
      provisioningTimeoutSeconds: e[ENV.provisioningTimeoutSeconds],
      strangerGraceSeconds: e[ENV.strangerGraceSeconds],
      expiringLeadSeconds: e[ENV.expiringLeadSeconds],
      healthCheckedProfiles: e[ENV.healthCheckedProfiles].split(',').filter((name) => name.length > 0),
      quotas: { ...base.quotas, tenantMaxLive: e[ENV.tenantMaxLive], ownerMaxLive: e[ENV.ownerMaxLive] },
    }),
  });
}

/** The lifecycle with its profiles: `default` is the default profile if there is one, else the first. */
export function withProfiles(
  lifecycle: Omit<LifecycleConfig, 'profiles' | 'defaultProfile' | 'envAllowLists'>,
  profiles: ProfileNames,
  sizes: Readonly<Record<string, ProfileSize>> = {},
): LifecycleConfig {
  return {
    ...lifecycle,
    profiles: profiles.names,
    defaultProfile: profiles.names.includes('default') ? 'default' : (profiles.names[0] ?? 'default'),
    envAllowLists: profiles.envAllowLists,
    profileSizes: sizes,
  };
}

/** The sizes profiles declare (`vcpu`, `memoryGiB`), for the usage ledger. */
export function profileSizes(
  profiles: Readonly<Record<string, { readonly vcpu?: number; readonly memoryGiB?: number }>>,
): Record<string, ProfileSize> {
  return Object.fromEntries(
    Object.entries(profiles).map(([name, profile]) => [
      name,
      { vcpu: profile.vcpu ?? 0, memoryGiB: profile.memoryGiB ?? 0 },
    ]),
  );
}

/** Profile names and allow-lists of a profile map. */
export function profileNames(
  profiles: Readonly<Record<string, { readonly envAllow?: readonly string[] }>>,
): ProfileNames {
  return {
    names: Object.keys(profiles),
    envAllowLists: Object.fromEntries(
      Object.entries(profiles).flatMap(([name, profile]) =>
        profile.envAllow ? [[name, profile.envAllow]] : [],
      ),
    ),
  };
}
