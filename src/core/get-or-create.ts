import type { CoreDeps } from './deps.js';
import { allowListMatcher, envViolations } from './env-policy.js';
import { type FieldError, SandboxError } from './errors.js';
import { launchAndRecord } from './launch.js';
import { idleTimeoutError } from './lifecycle.js';
import { type ChatKey, isLive, isTerminal, type Session } from './model.js';
import {
  CHAT_BUSY,
  claimChatOwner,
  giveBack,
  handOver,
  limitsOf,
  resolveOwner,
  TAKE_WINDOW_MS,
  takeCapacity,
} from './quotas.js';
import { waitWhileProvisioning } from './sandbox-ops.js';
import { replacedUsageOf } from './settle.js';
import { move, slidingExpiry } from './state-machine.js';

/** Rounds of reuse-then-claim before giving up on a chat under heavy contention. */
const MAX_ROUNDS = 8;
/** First pause before going round when another create of the chat holds its unit; grows per round. */
const BUSY_PAUSE_MS = 20;

export interface GetOrCreateRequest {
  readonly key: ChatKey;
  readonly agentId: string;
  readonly profile?: string;
  readonly idleTimeoutSeconds?: number;
  readonly maxLifetimeSeconds?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly metadata?: Readonly<Record<string, string>>;
  /** The end user the sandbox is for; the chat becomes theirs if it has no owner yet. */
  readonly ownerId?: string;
  /** Epoch ms until which the answer may be held while the sandbox is provisioning; absent: no wait. */
  readonly waitUntil?: number;
}

export interface GetOrCreateResult {
  readonly session: Session;
  readonly created: boolean;
}

/**
 * Gets the chat's live sandbox or starts one (docs/architecture.md, "Get-or-create"): reuse is one
 * conditional write; otherwise the item the failed condition returned decides between conflict, a
 * touch at the lifetime cap, and a new session: its owner resolved, its capacity taken
 * (src/core/quotas.ts), then its claim. A lost claim goes round again and then reuses the winner's
 * session.
 */
export async function getOrCreate(deps: CoreDeps, request: GetOrCreateRequest): Promise<GetOrCreateResult> {
  const { store, runtime, clock, logger } = deps;
  const { key, agentId, ownerId } = request;
  const settings = resolveSettings(deps, request);
  const { profile, idleTimeoutSeconds } = settings;

  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const now = clock.now();
    const reused = await store.reuse(key, {
      agentId,
      profile,
      now,
      idleTimeoutSeconds,
      expiresAt: now + idleTimeoutSeconds * 1000,
      ...(ownerId === undefined ? {} : { ownerId }),
    });
    if (reused.ok) {
      const done = await finish(deps, reused.session, false, request.waitUntil);
      if (done) return done;
      continue;
    }

    const current = reused.current;
    if (current && isLive(current) && current.expiresAt > now) {
      if (current.agentId !== agentId || current.profile !== profile) {
        throw new SandboxError(
          'sandbox_conflict',
          `The chat has a live sandbox for agent '${current.agentId}' with profile '${current.profile}'.`,
        );
      }
      if (ownerId !== undefined && current.ownerId !== ownerId) {
        if (current.ownerId !== null) {
          throw new SandboxError('owner_conflict', `The chat belongs to another owner than '${ownerId}'.`);
        }
        // A live sandbox from before the chat had an owner: the chat becomes the owner's, and its
        // next session counts for them; this one stays as it is.
        await claimChatOwner(deps, key, ownerId);
      }
      // Live and ours, but the idle expiry would pass the lifetime cap, or come before the time the
      // reconciler looks next, or the reuse named an owner: touch with the expiry capped.
      const touched = await move(deps, 'touch', current, { idleTimeoutSeconds });
      const done = touched.ok ? await finish(deps, touched.session, false, request.waitUntil) : null;
      if (done) return done;
      continue;
    }

    // A new session: its owner first (409 before any write), then its capacity (429 changes
    // nothing), then the owner's claim of an unowned chat, then the session's claim.
    const sessionId = deps.ids.sessionId();
    // The chat record: its owner, and whether a purge has begun. Not needed over a session that
    // has not stopped and names its owner: a purge starts only on a stopped chat and gives itself
    // up while the chat has a session that has not stopped. A purge that begins after this read
    // still turns the claim away: it fences the session (its version moves on), and a chat's
    // first claim checks the mark in the same write.
    const needsRecord = !current || isTerminal(current) || current.ownerId === null;
    const [chat, limits] = await Promise.all([
      needsRecord ? deps.quotas.getChat(key) : Promise.resolve(undefined),
      limitsOf(deps, key.tenant),
    ]);
    const owner = await resolveOwner(deps, key, ownerId, current?.ownerId ?? null, chat);
    if (chat?.purgingAt) {
      throw new SandboxError(
        'chat_purging',
        'The chat is being purged; it takes no new sandbox until that ends.',
      );
    }
    const taken = await takeCapacity(deps, key, owner.ownerId, sessionId, limits, current?.sessionId);
    if (taken === CHAT_BUSY) {
      // Another create of this chat is between its take and its claim: give it a moment, then
      // go round and most likely reuse what it started.
      await clock.sleep(BUSY_PAUSE_MS * (round + 1));
      continue;
    }
    if (owner.claim) {
      try {
        await claimChatOwner(deps, key, owner.ownerId!);
      } catch (error) {
        await giveBack(deps, key, taken);
        throw error;
      }
    }
    if (clock.now() - taken.at > TAKE_WINDOW_MS) {
      // Stalled since the take: its units may be another create's by now, and a claim this late
      // could land after the recount judged them. Give them back and go round.
      await giveBack(deps, key, taken);
      continue;
    }
    const session = newSession(deps, request, settings, { now, current, sessionId, ownerId: owner.ownerId });
    const claimed = await store.claim(session, current ? current.version : null);
    if (!claimed.ok) {
      // Lost to another create: the winner holds the chat's units from now on. If this hand-over
      // fails, the winner's release marks the scope due and the recount repairs it.
      await handOver(deps, key, taken, claimed.current).catch((error: unknown) => {
        logger.warn('could not hand capacity over to the winning session; the recount will', {
          ...key,
          error,
        });
      });
      continue;
    }

    const previous = claimed.previous;
    if (previous && !isTerminal(previous) && previous.runtimeRef) {
      // An expired or stopping predecessor may still hold a task, and its record is gone now: stop
      // it here (stop is idempotent); the orphan sweep backs this up.
      await runtime.stop(previous.runtimeRef, 'replaced').catch((error: unknown) => {
        logger.warn('could not stop the replaced sandbox; the orphan sweep will', {
          ...key,
          sessionId: previous.sessionId,
          error,
        });
      });
    }
    const launched = await launchAndRecord(deps, session);
    // Deleted and replaced while launching: what the chat holds now decides, as for a new call.
    if (launched.sessionId !== session.sessionId) continue;
    const done = await finish(deps, launched, true, request.waitUntil);
    if (done) return done;
  }
  throw new SandboxError('capacity_unavailable', 'The chat is busy with concurrent requests. Retry.', {
    retryAfterSeconds: 1,
  });
}

interface Settings {
  readonly profile: string;
  readonly idleTimeoutSeconds: number;
  readonly maxLifetimeSeconds: number;
}

/** Applies defaults and the configured bounds that the HTTP schema cannot know. */
function resolveSettings({ config }: CoreDeps, request: GetOrCreateRequest): Settings {
  const profile = request.profile ?? config.defaultProfile;
  if (!config.profiles.includes(profile)) {
    throw new SandboxError(
      'unknown_profile',
      `Profile '${profile}' is not configured. Configured: ${config.profiles.join(', ')}.`,
    );
  }
  const idleTimeoutSeconds = request.idleTimeoutSeconds ?? config.defaultIdleTimeoutSeconds;
  const maxLifetimeSeconds =
    request.maxLifetimeSeconds ?? Math.max(config.defaultMaxLifetimeSeconds, idleTimeoutSeconds);
  const errors: FieldError[] = [];
  const invalidIdle = idleTimeoutError(config, idleTimeoutSeconds);
  if (invalidIdle) errors.push(invalidIdle);
  if (maxLifetimeSeconds < idleTimeoutSeconds || maxLifetimeSeconds > config.maxLifetimeCapSeconds) {
    errors.push({
      path: 'maxLifetimeSeconds',
      message: `must be between idleTimeoutSeconds (${idleTimeoutSeconds}) and ${config.maxLifetimeCapSeconds}`,
    });
  }
  const allowList = config.envAllowLists?.[profile];
  const allow = allowList ? allowListMatcher(allowList) : undefined;
  for (const violation of envViolations(request.env ?? {}, allow)) {
    errors.push({ path: `env.${violation.name}`, message: violation.message });
  }
  if (errors.length > 0) {
    throw new SandboxError('validation_failed', 'The request body is invalid.', { errors });
  }
  return { profile, idleTimeoutSeconds, maxLifetimeSeconds };
}

function newSession(
  { config }: CoreDeps,
  request: GetOrCreateRequest,
  settings: Settings,
  claim: {
    readonly now: number;
    readonly current: Session | null;
    readonly sessionId: string;
    readonly ownerId: string | null;
  },
): Session {
  const { now, current } = claim;
  const maxExpiresAt = now + settings.maxLifetimeSeconds * 1000;
  // The record the claim overwrites: a predecessor not settled yet hands its usage on.
  const unsettled = current !== null && current.settledAt === null;
  return {
    tenant: request.key.tenant,
    chatId: request.key.chatId,
    sessionId: claim.sessionId,
    agentId: request.agentId,
    profile: settings.profile,
    ownerId: claim.ownerId,
    status: 'provisioning',
    endpoint: null,
    runtimeRef: null,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: slidingExpiry(now, settings.idleTimeoutSeconds, maxExpiresAt),
    maxExpiresAt,
    idleTimeoutSeconds: settings.idleTimeoutSeconds,
    runningAt: null,
    stoppedAt: null,
    expiringAt: null,
    settledAt: null,
    replacedUsage: unsettled ? replacedUsageOf(current, current.stoppedAt ?? now, config) : null,
    stopReason: null,
    statusDetail: null,
    metadata: request.metadata ?? {},
    env: request.env ?? {},
    version: (current?.version ?? 0) + 1,
    dueAt: now + config.launchLeaseSeconds * 1000,
    launchAttempts: 0,
    stopAttempts: 0,
    runtimeEventVersion: null,
    ttl: null,
  };
}

/**
 * The answer for `session`, after the requested wait; null if the chat moved on to another session
 * meanwhile (that one may belong to another agent, so the caller goes round again).
 */
async function finish(
  deps: CoreDeps,
  session: Session,
  created: boolean,
  waitUntil: number | undefined,
): Promise<GetOrCreateResult | null> {
  const settled = await waitWhileProvisioning(deps, session, waitUntil);
  if (settled.sessionId !== session.sessionId) return null;
  if (settled.status === 'failed') {
    // The reason stays in the session's statusDetail and the logs, never in the answer.
    throw new SandboxError('launch_failed', 'The sandbox could not be started. Retry later.', {
      retryAfterSeconds: 5,
    });
  }
  return { session: settled, created };
}
