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

/**
 * What a successor carries for the predecessor a claim replaces: the predecessor's own usage up to
 * `now` and whatever the predecessor carried itself, summed per owner and day, so a chain of
 * replacements none of which was settled loses nothing and stays a few entries long.
 */
export function replacedUsageOf(previous: Session, now: number, config: LifecycleConfig): ReplacedUsage[] {
  const entries = [
    ...(previous.replacedUsage ?? []),
    { ownerId: previous.ownerId, sessions: 1, ...usageOf(previous, now, config) },
  ];
  const merged = new Map<string, ReplacedUsage>();
  for (const entry of entries) {
    const id = `${entry.ownerId ?? ''}|${entry.day}`;
    const sum = merged.get(id);
    merged.set(
      id,
      sum
        ? {
            ...sum,
            sessions: sum.sessions + entry.sessions,
            sandboxSeconds: round(sum.sandboxSeconds + entry.sandboxSeconds),
            vcpuSeconds: round(sum.vcpuSeconds + entry.vcpuSeconds),
            gibSeconds: round(sum.gibSeconds + entry.gibSeconds),
          }
        : entry,
    );
  }
  return [...merged.values()];
}

/** The day totals a settled session adds to: tenant and owner, its own usage and what it carried. */
export function ledgerEntries(session: Session, config: LifecycleConfig): ScopedUsage[] {
  const own = usageOf(session, session.stoppedAt ?? session.lastActiveAt, config);
  const entries: ScopedUsage[] = [{ scope: tenantScope(session.tenant), usage: own, sessions: 1 }];
  if (session.ownerId) {
    entries.push({ scope: ownerScope(session.tenant, session.ownerId), usage: own, sessions: 1 });
  }
  for (const { ownerId, sessions, ...usage } of session.replacedUsage ?? []) {
    entries.push({ scope: tenantScope(session.tenant), usage, sessions });
    if (ownerId) entries.push({ scope: ownerScope(session.tenant, ownerId), usage, sessions });
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
