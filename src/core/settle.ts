/**
 * Settling an ended session: its capacity is given back and its usage added to the ledger. Called
 * right after every terminal transition; a session it could not settle stays due, and the
 * reconciler settles it on its next pass, so neither a unit nor a second of usage is lost or counted
 * twice.
 */
import type { CoreDeps } from './deps.js';
import type { LifecycleConfig } from './lifecycle.js';
import { chatKeyOf, isTerminal, type ReplacedUsage, type Session } from './model.js';
import type { ScopedUsage } from './ports.js';
import type { UsageRecord } from './quota-ports.js';
import { ownerScope, scopesOf, tenantScope } from './quotas.js';
import { write } from './state-machine.js';

const round = (value: number) => Math.round(value * 1000) / 1000;

/** The UTC day of an epoch ms time, `YYYY-MM-DD`. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** What a session used from becoming `running` until `endedAt`, on the day it ended. */
export function usageOf(session: Session, endedAt: number, config: LifecycleConfig): UsageRecord {
  const seconds = session.runningAt === null ? 0 : Math.max(0, (endedAt - session.runningAt) / 1000);
  const size = config.profileSizes?.[session.profile] ?? { vcpu: 0, memoryGiB: 0 };
  return {
    day: utcDay(endedAt),
    sandboxSeconds: round(seconds),
    vcpuSeconds: round(seconds * size.vcpu),
    gibSeconds: round(seconds * size.memoryGiB),
  };
}

/** The usage of a predecessor a claim replaces, carried by its successor until it is settled. */
export function replacedUsageOf(previous: Session, now: number, config: LifecycleConfig): ReplacedUsage {
  return { ownerId: previous.ownerId, ...usageOf(previous, now, config) };
}

/** The day totals a settled session adds to: tenant and owner, its own usage and what it carried. */
export function ledgerEntries(session: Session, config: LifecycleConfig): ScopedUsage[] {
  const own = usageOf(session, session.stoppedAt ?? session.lastActiveAt, config);
  const entries: ScopedUsage[] = [{ scope: tenantScope(session.tenant), usage: own }];
  if (session.ownerId) entries.push({ scope: ownerScope(session.tenant, session.ownerId), usage: own });
  const carried = session.replacedUsage;
  if (carried) {
    const { ownerId, ...usage } = carried;
    entries.push({ scope: tenantScope(session.tenant), usage });
    if (ownerId) entries.push({ scope: ownerScope(session.tenant, ownerId), usage });
  }
  return entries;
}

/**
 * Settles an ended session: gives its units back (only those it took), then, in one transaction,
 * marks it settled, takes it off the due index and adds its usage. Answers false if it was settled
 * already.
 */
export async function settle(
  deps: Pick<CoreDeps, 'store' | 'quotas' | 'clock' | 'config'>,
  session: Session,
): Promise<boolean> {
  if (!isTerminal(session) || session.settledAt !== null) return false;
  const { store, quotas, clock, config } = deps;
  const now = clock.now();
  await Promise.all(
    scopesOf(session).map((scope) => quotas.release(scope, session.chatId, session.sessionId, now)),
  );
  const { expect, patch } = write('settle', session, now, {}, config);
  return store.settle(chatKeyOf(session), expect, patch, ledgerEntries(session, config));
}

/** `settle`, with a failure logged: the session stays due and the reconciler settles it. */
export async function settleOrLeave(
  deps: Pick<CoreDeps, 'store' | 'quotas' | 'clock' | 'config' | 'logger'>,
  session: Session,
): Promise<void> {
  try {
    await settle(deps, session);
  } catch (error) {
    deps.logger.warn('could not settle an ended session; the reconciler will', {
      ...chatKeyOf(session),
      sessionId: session.sessionId,
      error,
    });
  }
}
