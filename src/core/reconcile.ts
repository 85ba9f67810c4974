/**
 * One reconcile pass (level-triggered): reads only the sessions that are due, moves each on, then
 * sweeps the runtime for tasks that no live session owns. Running it twice changes nothing more.
 */
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { launchAndRecord } from './launch.js';
import { chatKeyOf, isLive, isTerminal, type Session } from './model.js';
import { exitedPatch, runningPatch, stoppingPatch, terminalPatch } from './transitions.js';

export const RECONCILER_LEASE = 'reconciler';

export interface ReconcileOptions {
  /** Epoch ms after which the pass stops taking up new work (the Lambda's remaining time). */
  readonly deadline?: number;
  /** Identifies this pass as the lease holder. */
  readonly holder: string;
  /**
   * Also asks the runtime about every live session, due or not: for a start-up after a crash, when
   * tasks may have ended unobserved. O(live sessions), so not for every pass.
   */
  readonly verifyAll?: boolean;
  /**
   * More work to do under the same lease once the pass got through everything (AWS: retiring idle
   * chat volumes), so overlapping runs never do it twice at once.
   */
  readonly whileLeased?: () => Promise<void>;
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
  errors: number;
  /** True when the deadline cut the pass short; the rest is picked up by the next pass. */
  truncated: boolean;
}

type Counter = Exclude<keyof ReconcileSummary, 'ran' | 'truncated'>;

const LEASE_MS = 5 * 60 * 1000;

/** Runs one pass under the reconciler lease. */
export async function reconcile(deps: CoreDeps, options: ReconcileOptions): Promise<ReconcileSummary> {
  const { store, clock, logger } = deps;
  const start = clock.now();
  const summary: ReconcileSummary = {
    ran: false,
    examined: 0,
    rearmed: 0,
    expired: 0,
    relaunched: 0,
    promoted: 0,
    failed: 0,
    finished: 0,
    stopRetried: 0,
    orphansStopped: 0,
    errors: 0,
    truncated: false,
  };
  const leaseUntil = Math.min(start + LEASE_MS, options.deadline ?? Number.POSITIVE_INFINITY);
  if (!(await store.acquireLease(RECONCILER_LEASE, options.holder, start, leaseUntil))) {
    logger.info('reconcile skipped: another pass holds the lease', { holder: options.holder });
    return summary;
  }
  const ran: ReconcileSummary = { ...summary, ran: true };
  const count = (counter: Counter | null) => {
    if (counter) ran[counter] += 1;
  };
  const outOfTime = () => options.deadline !== undefined && clock.now() >= options.deadline;
  try {
    for await (const session of store.listDue(options.verifyAll ? Number.MAX_SAFE_INTEGER : start)) {
      if (outOfTime()) {
        ran.truncated = true;
        break;
      }
      ran.examined += 1;
      try {
        const due = session.dueAt !== null && session.dueAt <= start;
        count(due ? await handleDue(deps, session) : await verifyRunning(deps, session));
      } catch (error) {
        ran.errors += 1;
        logger.error('reconcile of a session failed', {
          ...chatKeyOf(session),
          sessionId: session.sessionId,
          error,
        });
      }
    }
    if (!ran.truncated) ran.orphansStopped = await sweepOrphans(deps, outOfTime, ran);
    if (!ran.truncated && options.whileLeased) await options.whileLeased();
  } finally {
    await store.releaseLease(RECONCILER_LEASE, options.holder);
  }
  const busy = ran.examined > 0 || ran.orphansStopped > 0 || ran.errors > 0 || ran.truncated;
  if (busy) logger.info('reconcile pass', { ...ran, durationMs: clock.now() - start });
  return ran;
}

/** Moves one due session on; answers what it did. */
async function handleDue(deps: CoreDeps, session: Session): Promise<Counter | null> {
  const { store, runtime, clock, config } = deps;
  const now = clock.now();
  const key = chatKeyOf(session);
  const expect = { sessionId: session.sessionId, version: session.version };

  if (isTerminal(session)) {
    // A terminal item that still carries due attributes: take it off the index.
    const cleared = await store.update(key, expect, { dueAt: null });
    return cleared.ok ? 'finished' : null;
  }

  if (isLive(session) && session.expiresAt <= now) {
    const stopping = await store.update(key, expect, stoppingPatch(now, 'expired', config));
    if (!stopping.ok) return null;
    if (session.runtimeRef) await runtime.stop(session.runtimeRef, 'expired');
    return 'expired';
  }

  if (session.status === 'running') {
    // Due but unexpired: a keepalive or reuse moved the expiry. Ask the runtime too, so a task that
    // ended while its stopped event was lost is not handed out again and again.
    const ended = await endedTask(deps, session);
    if (ended) {
      const done = await store.update(key, expect, exitedPatch(session, now, ended, config));
      return done.ok ? 'finished' : null;
    }
    const rearmed = await store.update(key, expect, { dueAt: session.expiresAt });
    return rearmed.ok ? 'rearmed' : null;
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
    const done = await store.update(
      key,
      expect,
      terminalPatch(now, 'stopped', session.stopReason ?? 'deleted', detail, config),
    );
    return done.ok ? 'finished' : null;
  }
  await runtime.stop(session.runtimeRef!, session.stopReason ?? 'stopping');
  const retried = await store.update(key, expect, {
    stopAttempts: session.stopAttempts + 1,
    dueAt: now + config.stopGraceSeconds * 1000,
  });
  return retried.ok ? 'stopRetried' : null;
}

/** A provisioning session whose launch lease ran out: promote, wait, relaunch or fail it. */
async function handleProvisioning(deps: CoreDeps, session: Session, now: number): Promise<Counter | null> {
  const { store, runtime, config } = deps;
  const key = chatKeyOf(session);
  const expect = { sessionId: session.sessionId, version: session.version };
  const fail = async (detail: string): Promise<Counter | null> => {
    const failed = await store.update(
      key,
      expect,
      terminalPatch(now, 'failed', 'launch_failed', detail, config),
    );
    if (failed.ok && session.runtimeRef) await runtime.stop(session.runtimeRef, 'launch failed');
    return failed.ok ? 'failed' : null;
  };

  if (now - session.createdAt >= config.provisioningTimeoutSeconds * 1000) {
    return fail(`did not become ready within ${config.provisioningTimeoutSeconds} s`);
  }
  const state = session.runtimeRef
    ? await runtime.describe(session.runtimeRef)
    : ({ status: 'missing' } as const);
  switch (state.status) {
    case 'running': {
      const promoted = await store.update(
        key,
        expect,
        runningPatch(session, state.endpoint, session.runtimeRef!, now),
      );
      return promoted.ok ? 'promoted' : null;
    }
    case 'stopped':
      return fail(state.reason);
    case 'pending': {
      const waiting = await store.update(key, expect, { dueAt: now + config.launchLeaseSeconds * 1000 });
      return waiting.ok ? 'rearmed' : null;
    }
    case 'missing': {
      if (session.launchAttempts >= config.maxLaunchAttempts) {
        return fail(`no task after ${session.launchAttempts} accepted launches`);
      }
      // Re-issue the launch with the same sessionId: the runtime answers the same task if it has one.
      // This write moves the lease on first, so a pass that dies mid-launch is not retried at once.
      const claimed = await store.update(key, expect, { dueAt: now + config.launchLeaseSeconds * 1000 });
      if (!claimed.ok) return null;
      try {
        await launchAndRecord(deps, claimed.session);
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
  const { store, clock, config } = deps;
  if (session.status !== 'running') return null;
  const reason = await endedTask(deps, session);
  if (!reason) return null;
  const done = await store.update(
    chatKeyOf(session),
    { sessionId: session.sessionId, version: session.version },
    exitedPatch(session, clock.now(), reason, config),
  );
  return done.ok ? 'finished' : null;
}

/** Sessions read per store call during the orphan sweep. */
const SWEEP_BATCH = 100;

/**
 * Stops every runtime task whose session is not the chat's current, unfinished session. Sessions are
 * read in batches, and the tasks are taken in a random order so that a sweep the deadline cuts short
 * still reaches every task over a few passes.
 */
async function sweepOrphans(
  deps: CoreDeps,
  outOfTime: () => boolean,
  summary: ReconcileSummary,
): Promise<number> {
  const { store, runtime, logger } = deps;
  const tasks = shuffled(await runtime.listLive());
  let stopped = 0;
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
      try {
        await runtime.stop(task.ref, 'orphan: not the live session of its chat');
        stopped += 1;
      } catch (error) {
        summary.errors += 1;
        logger.error('could not stop an orphan task; the next pass tries again', { ref: task.ref, error });
      }
    }
  }
  return stopped;
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
