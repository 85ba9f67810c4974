/**
 * One reconcile pass (level-triggered): reads only the sessions that are due, moves each on, then
 * sweeps the runtime for tasks that no live session owns. Running it twice changes nothing more.
 */
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { launchAndRecord } from './launch.js';
import { needsHealthCheck } from './lifecycle.js';
import { chatKeyOf, isLive, isTerminal, type Session } from './model.js';
import type { SessionStore, UpdateResult } from './ports.js';
import { recountScope } from './quotas.js';
import { settle, settleOrLeave } from './settle.js';
import { expiryToAnnounce, move } from './state-machine.js';

export const RECONCILER_LEASE = 'reconciler';

export interface ReconcileOptions {
  /** Epoch ms after which the pass stops taking up new work (the Lambda's remaining time). */
  readonly deadline?: number;
  /**
   * Also asks the runtime about every live session, due or not: for a start-up after a crash, when
   * tasks may have ended unobserved. O(live sessions), so not for every pass.
   */
  readonly verifyAll?: boolean;
}

export interface ReconcileSummary {
  /** False when another pass held the lease and this one did nothing. */
  readonly ran: boolean;
  /** Due sessions looked at. */
  examined: number;
  rearmed: number;
  expired: number;
  relaunched: number;
  promoted: number;
  failed: number;
  finished: number;
  stopRetried: number;
  orphansStopped: number;
  /** Tasks no session names, stopped once older than the stranger grace. */
  strangersStopped: number;
  /** Ended sessions settled here (their settling right after the end did not complete). */
  settled: number;
  /** Running sessions whose coming expiry was announced (`Sandbox Expiring`). */
  expiringAnnounced: number;
  /** Capacity units given back by the recount: taken by a create that no session followed. */
  unitsRecovered: number;
  errors: number;
  /** True when the deadline cut the pass short; the rest is picked up by the next pass. */
  truncated: boolean;
}

type Counter = Exclude<keyof ReconcileSummary, 'ran' | 'truncated'>;

/** Every counter of a summary, in the order they are reported. */
export const RECONCILE_COUNTERS: readonly Counter[] = [
  'examined',
  'rearmed',
  'expired',
  'relaunched',
  'promoted',
  'failed',
  'finished',
  'stopRetried',
  'orphansStopped',
  'strangersStopped',
  'settled',
  'expiringAnnounced',
  'unitsRecovered',
  'errors',
];

const LEASE_MS = 5 * 60 * 1000;

/** A summary with every counter at zero; `ran` false says another pass held the lease. */
export function emptySummary(ran: boolean): ReconcileSummary {
  const summary = { ran, truncated: false } as ReconcileSummary;
  for (const counter of RECONCILE_COUNTERS) summary[counter] = 0;
  return summary;
}

/**
 * Runs `work` while holding the named lease (until `until`, or less if `work` ends sooner); answers
 * null without running it when another holder has the lease. The single-flight guard of the
 * reconciler: two overlapping runs never work at once.
 */
export async function withLease<T>(
  store: Pick<SessionStore, 'acquireLease' | 'releaseLease'>,
  lease: { readonly name: string; readonly holder: string; readonly now: number; readonly until: number },
  work: () => Promise<T>,
): Promise<T | null> {
  if (!(await store.acquireLease(lease.name, lease.holder, lease.now, lease.until))) return null;
  try {
    return await work();
  } finally {
    await store.releaseLease(lease.name, lease.holder);
  }
}

/** How long a reconcile pass may hold its lease: five minutes, or until the deadline. */
export function reconcileLease(holder: string, now: number, deadline?: number) {
  return {
    name: RECONCILER_LEASE,
    holder,
    now,
    until: Math.min(now + LEASE_MS, deadline ?? Number.POSITIVE_INFINITY),
  };
}

/** One pass under the reconciler lease (local mode; the AWS reconciler adds volume retirement). */
export async function reconcile(
  deps: CoreDeps,
  options: ReconcileOptions & { readonly holder: string },
): Promise<ReconcileSummary> {
  const ran = await withLease(
    deps.store,
    reconcileLease(options.holder, deps.clock.now(), options.deadline),
    () => reconcilePass(deps, options),
  );
  if (!ran) deps.logger.info('reconcile skipped: another pass holds the lease', { holder: options.holder });
  return ran ?? emptySummary(false);
}

/** One pass; the caller holds the reconciler lease. */
export async function reconcilePass(
  deps: CoreDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileSummary> {
  const { store, clock, logger } = deps;
  const start = clock.now();
  const summary = emptySummary(true);
  const count = (counter: Counter | null) => {
    if (counter) summary[counter] += 1;
  };
  const outOfTime = () => options.deadline !== undefined && clock.now() >= options.deadline;
  // Capacity first: it reads only the scopes a take marked due, so a pass that runs out of time on
  // sessions or tasks still repairs every leaked unit.
  await guarded(deps, summary, 'recount of capacity scopes failed', () =>
    repairQuotas(deps, start, outOfTime, summary),
  );
  for await (const session of store.listDue(options.verifyAll ? Number.MAX_SAFE_INTEGER : start)) {
    if (outOfTime()) {
      summary.truncated = true;
      break;
    }
    summary.examined += 1;
    try {
      const due = session.dueAt !== null && session.dueAt <= start;
      count(due ? await handleDue(deps, session) : await verifyRunning(deps, session));
    } catch (error) {
      summary.errors += 1;
      logger.error('reconcile of a session failed', {
        ...chatKeyOf(session),
        sessionId: session.sessionId,
        error,
      });
    }
  }
  if (!summary.truncated) {
    await guarded(deps, summary, 'orphan sweep failed', () => sweepOrphans(deps, outOfTime, summary));
  }
  const busy = RECONCILE_COUNTERS.some((counter) => summary[counter] > 0) || summary.truncated;
  if (busy) logger.info('reconcile pass', { ...summary, durationMs: clock.now() - start });
  return summary;
}

/** Runs one part of a pass; a failure is counted and logged, and the pass goes on. */
async function guarded(
  deps: CoreDeps,
  summary: ReconcileSummary,
  message: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    summary.errors += 1;
    deps.logger.error(message, { error });
  }
}

/** Moves one due session on; answers what it did. */
async function handleDue(deps: CoreDeps, session: Session): Promise<Counter | null> {
  const { runtime, clock, config } = deps;
  const now = clock.now();

  if (isTerminal(session)) {
    // Ended but not settled (a crash, or a failed settle): settle it now. Settled but still in the
    // index: take it off.
    if (session.settledAt === null) return (await settle(deps, session)) ? 'settled' : null;
    return (await move(deps, 'clearDue', session, {})).ok ? 'finished' : null;
  }

  if (isLive(session) && session.expiresAt <= now) {
    if (!(await move(deps, 'expire', session, {})).ok) return null;
    if (session.runtimeRef) await runtime.stop(session.runtimeRef, 'expired');
    return 'expired';
  }

  if (session.status === 'running') {
    // Due but unexpired: a keepalive or reuse moved the expiry. Ask the runtime too, so a task that
    // ended while its stopped event was lost is not handed out again and again.
    const ended = await endedTask(deps, session);
    if (ended) return finishEnded(deps, await move(deps, 'exit', session, { detail: ended }));
    if (expiryToAnnounce(session, now, config)) {
      return (await move(deps, 'announceExpiry', session, {})).ok ? 'expiringAnnounced' : null;
    }
    return (await move(deps, 'rearm', session, {})).ok ? 'rearmed' : null;
  }

  if (session.status === 'provisioning') return handleProvisioning(deps, session, now);

  // stopping, past its grace
  const state = session.runtimeRef
    ? await runtime.describe(session.runtimeRef)
    : ({ status: 'missing' } as const);
  if (
    state.status === 'stopped' ||
    state.status === 'missing' ||
    session.stopAttempts >= config.maxStopAttempts
  ) {
    const detail = state.status === 'stopped' ? state.reason : session.statusDetail;
    return finishEnded(deps, await move(deps, 'confirmStop', session, { detail }));
  }
  await runtime.stop(session.runtimeRef!, session.stopReason ?? 'stopping');
  return (await move(deps, 'retryStop', session, {})).ok ? 'stopRetried' : null;
}

/** A provisioning session whose launch lease ran out: promote, wait, relaunch or fail it. */
async function handleProvisioning(deps: CoreDeps, session: Session, now: number): Promise<Counter | null> {
  const { runtime, config } = deps;
  const fail = async (detail: string): Promise<Counter | null> => {
    const failed = await move(deps, 'failProvisioning', session, { detail });
    if (!failed.ok) return null;
    if (session.runtimeRef) await runtime.stop(session.runtimeRef, 'launch failed');
    await settleOrLeave(deps, failed.session);
    return 'failed';
  };

  const timedOut = now - session.createdAt >= config.provisioningTimeoutSeconds * 1000;
  const state = session.runtimeRef
    ? await runtime.describe(session.runtimeRef)
    : ({ status: 'missing' } as const);
  const waitsForHealth =
    state.status === 'running' && needsHealthCheck(config, session.profile) && state.health !== 'healthy';
  if (timedOut) {
    return fail(
      waitsForHealth
        ? `unhealthy: the health check did not pass within ${config.provisioningTimeoutSeconds} s`
        : `did not become ready within ${config.provisioningTimeoutSeconds} s`,
    );
  }
  if (waitsForHealth) return (await move(deps, 'awaitHealthy', session, {})).ok ? 'rearmed' : null;
  switch (state.status) {
    case 'running': {
      const promoted = await move(deps, 'promote', session, {
        endpoint: state.endpoint,
        ref: session.runtimeRef!,
      });
      return promoted.ok ? 'promoted' : null;
    }
    case 'stopped':
      return fail(state.reason);
    case 'pending':
      return (await move(deps, 'holdLaunch', session, {})).ok ? 'rearmed' : null;
    case 'missing': {
      if (session.launchAttempts >= config.maxLaunchAttempts) {
        return fail(`no task after ${session.launchAttempts} accepted launches`);
      }
      // Re-issue the launch with the same sessionId: the runtime answers the same task if it has one.
      // This write moves the lease on first, so a pass that dies mid-launch is not retried at once.
      const held = await move(deps, 'holdLaunch', session, {});
      if (!held.ok) return null;
      try {
        await launchAndRecord(deps, held.session);
        return 'relaunched';
      } catch (error) {
        // launchAndRecord already ended the session `failed`; anything else leaves it for the next pass.
        if (error instanceof SandboxError && error.code === 'launch_failed') return 'failed';
        throw error;
      }
    }
  }
}

/** Why a running session's task is gone (stopped, or unknown to the runtime), or null if it is not. */
async function endedTask({ runtime }: CoreDeps, session: Session): Promise<string | null> {
  if (!session.runtimeRef) return null;
  const state = await runtime.describe(session.runtimeRef);
  if (state.status === 'stopped') return state.reason;
  return state.status === 'missing' ? 'task not found' : null;
}

/** With `verifyAll`: a live session that is not due yet, checked against its task. */
async function verifyRunning(deps: CoreDeps, session: Session): Promise<Counter | null> {
  if (session.status !== 'running') return null;
  const reason = await endedTask(deps, session);
  if (!reason) return null;
  return finishEnded(deps, await move(deps, 'exit', session, { detail: reason }));
}

/** After a transition that ends a session: settle it (or leave it due), and count it finished. */
async function finishEnded(deps: CoreDeps, written: UpdateResult): Promise<Counter | null> {
  if (!written.ok) return null;
  await settleOrLeave(deps, written.session);
  return 'finished';
}

/** Recounts every capacity scope a take marked due (src/core/quotas.ts). */
async function repairQuotas(
  deps: CoreDeps,
  now: number,
  outOfTime: () => boolean,
  summary: ReconcileSummary,
): Promise<void> {
  for await (const state of deps.quotas.listDue(now)) {
    if (outOfTime()) {
      summary.truncated = true;
      return;
    }
    try {
      summary.unitsRecovered += await recountScope(deps, state, now);
    } catch (error) {
      summary.errors += 1;
      deps.logger.error('recount of a capacity scope failed', { scope: state.scope, error });
    }
  }
}

/** Sessions read per store call during the orphan sweep. */
const SWEEP_BATCH = 100;

/**
 * Stops every runtime task whose session is not the chat's current, unfinished session, and every
 * task no session names once it is older than the stranger grace. Sessions are read in batches, and
 * the tasks are taken in a random order so that a sweep the deadline cuts short still reaches every
 * task over a few passes.
 */
async function sweepOrphans(
  deps: CoreDeps,
  outOfTime: () => boolean,
  summary: ReconcileSummary,
): Promise<void> {
  const { store, runtime, clock, config, logger } = deps;
  const inventory = await runtime.inventory();
  const stop = async (ref: string, reason: string, counter: 'orphansStopped' | 'strangersStopped') => {
    try {
      await runtime.stop(ref, reason);
      summary[counter] += 1;
    } catch (error) {
      summary.errors += 1;
      logger.error('could not stop a task; the next pass tries again', { ref, error });
    }
  };
  const strangerBorn = clock.now() - config.strangerGraceSeconds * 1000;
  for (const stranger of inventory.strangers) {
    if (stranger.startedAt > strangerBorn) continue;
    logger.warn('stopping a task no session names', { ...stranger });
    await stop(stranger.ref, 'not started by this control plane for a known tenant', 'strangersStopped');
  }
  const tasks = shuffled(inventory.tasks);
  for (let start = 0; start < tasks.length; start += SWEEP_BATCH) {
    if (outOfTime()) {
      summary.truncated = true;
      break;
    }
    const batch = tasks.slice(start, start + SWEEP_BATCH);
    // One failed read or stop costs its batch or task, not the rest of the pass.
    let sessions: (Session | null)[];
    try {
      sessions = await store.getMany(batch.map((task) => ({ tenant: task.tenant, chatId: task.chatId })));
    } catch (error) {
      summary.errors += 1;
      logger.error('orphan sweep could not read a batch of sessions', { tasks: batch.length, error });
      continue;
    }
    for (const [index, task] of batch.entries()) {
      const session = sessions[index] ?? null;
      const owned = session !== null && session.sessionId === task.sessionId && !isTerminal(session);
      if (owned) continue;
      logger.warn('stopping orphan task', { ...task, currentSessionId: session?.sessionId ?? null });
      await stop(task.ref, 'orphan: not the live session of its chat', 'orphansStopped');
    }
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
