import type { CoreDeps } from './deps.js';
import { allowListMatcher, envViolations } from './env-policy.js';
import { type FieldError, SandboxError } from './errors.js';
import { launchAndRecord } from './launch.js';
import { idleTimeoutError } from './lifecycle.js';
import { type ChatKey, isLive, isTerminal, type Session } from './model.js';
import { waitWhileProvisioning } from './sandbox-ops.js';
import { move, slidingExpiry } from './state-machine.js';

/** Rounds of reuse-then-claim before giving up on a chat under heavy contention. */
const MAX_ROUNDS = 8;

export interface GetOrCreateRequest {
  readonly key: ChatKey;
  readonly agentId: string;
  readonly profile?: string;
  readonly idleTimeoutSeconds?: number;
  readonly maxLifetimeSeconds?: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Epoch ms until which the answer may be held while the sandbox is provisioning; absent: no wait. */
  readonly waitUntil?: number;
}

export interface GetOrCreateResult {
  readonly session: Session;
  readonly created: boolean;
}

/**
 * Gets the chat's live sandbox or starts one (DESIGN.md "Get-or-create"): reuse is one conditional
 * write; otherwise the item the failed condition returned decides between conflict, a touch at the
 * lifetime cap, and a claim. A lost claim goes round again and then reuses the winner's session.
 */
export async function getOrCreate(deps: CoreDeps, request: GetOrCreateRequest): Promise<GetOrCreateResult> {
  const { store, runtime, clock, logger } = deps;
  const { key, agentId } = request;
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
      // Live and ours, but the idle expiry would pass the lifetime cap, or come before the time the
      // reconciler looks next: touch with the expiry capped and the due time moved up with it.
      const touched = await move(deps, 'touch', current, { idleTimeoutSeconds });
      const done = touched.ok ? await finish(deps, touched.session, false, request.waitUntil) : null;
      if (done) return done;
      continue;
    }

    const session = newSession(deps, request, settings, now, current);
    const claimed = await store.claim(session, current ? current.version : null);
    if (!claimed.ok) continue;

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
  { ids, config }: CoreDeps,
  request: GetOrCreateRequest,
  settings: Settings,
  now: number,
  current: Session | null,
): Session {
  const maxExpiresAt = now + settings.maxLifetimeSeconds * 1000;
  return {
    tenant: request.key.tenant,
    chatId: request.key.chatId,
    sessionId: ids.sessionId(),
    agentId: request.agentId,
    profile: settings.profile,
    status: 'provisioning',
    endpoint: null,
    runtimeRef: null,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: slidingExpiry(now, settings.idleTimeoutSeconds, maxExpiresAt),
    maxExpiresAt,
    idleTimeoutSeconds: settings.idleTimeoutSeconds,
    stoppedAt: null,
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
