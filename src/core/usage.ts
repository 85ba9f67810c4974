/** `GET /v1/usage`: live counts, limits and daily totals of the caller's tenant, or of one owner. */
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import type { DayTotals } from './quota-ports.js';
import { limitsOf, ownerScope, tenantScope } from './quotas.js';
import { utcDay } from './settle.js';

const DAY_MS = 86_400_000;
/** The longest range one answer covers. */
export const MAX_USAGE_DAYS = 366;

export interface UsageReport {
  readonly tenant: { readonly live: number; readonly limit: number };
  readonly owner: { readonly ownerId: string; readonly live: number; readonly limit: number } | null;
  readonly from: string;
  readonly to: string;
  /** Days with finished sessions, oldest first; a day without any is left out. */
  readonly days: readonly DayTotals[];
}

/** The report for `tenant` (and `ownerId`), `from`..`to` included; defaults to the last 7 days. */
export async function usageReport(
  deps: Pick<CoreDeps, 'quotas' | 'clock' | 'config'>,
  tenant: string,
  query: { readonly ownerId?: string; readonly from?: string; readonly to?: string },
): Promise<UsageReport> {
  const { quotas, clock } = deps;
  const to = query.to ?? utcDay(clock.now());
  const from = query.from ?? utcDay(Date.parse(to) - 6 * DAY_MS);
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (!(span >= 0 && span < MAX_USAGE_DAYS)) {
    throw new SandboxError('validation_failed', 'The request query is invalid.', {
      errors: [
        {
          path: 'from',
          message: `must be on or before to, and at most ${MAX_USAGE_DAYS - 1} days before it`,
        },
      ],
    });
  }
  const limits = await limitsOf(deps, tenant);
  const scope = query.ownerId ? ownerScope(tenant, query.ownerId) : tenantScope(tenant);
  const [tenantLive, ownerLive, days] = await Promise.all([
    quotas.count(tenantScope(tenant)),
    query.ownerId ? quotas.count(scope) : Promise.resolve(0),
    quotas.usage(scope, from, to),
  ]);
  return {
    tenant: { live: tenantLive, limit: limits.tenant },
    owner: query.ownerId ? { ownerId: query.ownerId, live: ownerLive, limit: limits.owner } : null,
    from,
    to,
    days,
  };
}
