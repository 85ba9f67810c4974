/**
 * Owners and capacity at claim time.
 *
 * Order of a create (get-or-create, after the one-write reuse missed):
 * 1. the chat's owner is resolved (the request's, or the chat record's); another owner is 409
 *    `owner_conflict` before anything is written;
 * 2. the owner's unit, then the tenant's, are taken for the chat, each one conditional update of
 *    one item; a scope at its limit is 429 `quota_exceeded` and whatever this create took is
 *    undone, so a refused create changes nothing;
 * 3. an unowned chat is claimed for the request's owner;
 * 4. the session is claimed (`PutItem`); a claim lost to another create hands this create's units
 *    to the winner (`handOver`), so the winner's end frees them.
 *
 * A unit is held with a token (`<sessionId>@<epoch ms>`), so a session gives back only its own.
 * A crash between 2 and 4 leaves a unit no session holds: each take marks its scope due for a
 * recount, and the reconciler gives back, within one pass after the grace, every unit whose chat
 * has no counted session in the scope (`recountScope`). A release that finds another token marks
 * the scope due too. The other direction, a session that ended but kept its units, is repaired by
 * settling (src/core/settle.ts).
 */
import type { CoreDeps } from './deps.js';
import { SandboxError } from './errors.js';
import { type ChatKey, COUNTED_STATUSES, type Session } from './model.js';
import type {
  ChatRecord,
  QuotaScope,
  QuotaState,
  QuotaStore,
  TakeOptions,
  TakeResult,
  TenantLimits,
} from './quota-ports.js';

/** Seconds a caller is told to wait after a 429: capacity frees when another sandbox ends. */
const QUOTA_RETRY_AFTER_SECONDS = 30;
/** How long a tenant's overrides are kept in memory before they are read again. */
const LIMITS_CACHE_MS = 30_000;

export interface Limits {
  readonly tenant: number;
  readonly owner: number;
}

const limitsCache = new WeakMap<
  object,
  Map<string, { readonly at: number; readonly limits: TenantLimits | null }>
>();

/** The tenant's limits: its overrides (cached for 30 s per process) over the configured defaults. */
export async function limitsOf(
  deps: Pick<CoreDeps, 'quotas' | 'clock' | 'config'>,
  tenant: string,
): Promise<Limits> {
  const { quotas, clock, config } = deps;
  let cache = limitsCache.get(quotas);
  if (!cache) {
    cache = new Map();
    limitsCache.set(quotas, cache);
  }
  const now = clock.now();
  let entry = cache.get(tenant);
  if (!entry || now - entry.at >= LIMITS_CACHE_MS) {
    entry = { at: now, limits: await quotas.limits(tenant) };
    cache.set(tenant, entry);
  }
  return {
    tenant: entry.limits?.maxLiveSandboxes ?? config.quotas.tenantMaxLive,
    owner: entry.limits?.maxLivePerOwner ?? config.quotas.ownerMaxLive,
  };
}

export function tenantScope(tenant: string): QuotaScope {
  return { kind: 'tenant', tenant };
}

export function ownerScope(tenant: string, ownerId: string): QuotaScope {
  return { kind: 'owner', tenant, ownerId };
}

/** The scopes a session's capacity is held in. */
export function scopesOf(session: Pick<Session, 'tenant' | 'ownerId'>): QuotaScope[] {
  return session.ownerId
    ? [tenantScope(session.tenant), ownerScope(session.tenant, session.ownerId)]
    : [tenantScope(session.tenant)];
}

function ownerConflict(ownerId: string): SandboxError {
  return new SandboxError('owner_conflict', `The chat belongs to another owner than '${ownerId}'.`);
}

/**
 * The owner a new session of the chat is for: the chat's owner, or the request's for an unowned chat
 * (`claim` true: the chat record must be claimed for it). Another owner is 409, before any write.
 * `known` is an owner the chat is known to have (from its last session), which saves the read.
 */
export async function resolveOwner(
  deps: Pick<CoreDeps, 'quotas'>,
  key: ChatKey,
  requested: string | undefined,
  known: string | null,
  /** The chat record when the caller has just read it (saves the read); undefined: read it here. */
  record?: ChatRecord | null,
): Promise<{ readonly ownerId: string | null; readonly claim: boolean }> {
  const chatOwner =
    known ?? (record !== undefined ? record?.ownerId : (await deps.quotas.getChat(key))?.ownerId) ?? null;
  if (requested && chatOwner && chatOwner !== requested) throw ownerConflict(requested);
  return { ownerId: chatOwner ?? requested ?? null, claim: chatOwner === null && requested !== undefined };
}

/** Claims an unowned chat for `ownerId`; 409 when another owner got there first. */
export async function claimChatOwner(
  deps: Pick<CoreDeps, 'quotas' | 'clock'>,
  key: ChatKey,
  ownerId: string,
): Promise<void> {
  const claimed = await deps.quotas.claimOwner(key, ownerId, deps.clock.now());
  if (!claimed.ok) throw ownerConflict(ownerId);
}

/** One scope whose unit a create holds now, and the token the unit was held with before it. */
export interface HeldUnit {
  readonly scope: QuotaScope;
  readonly previous: string | null;
}

/** The capacity a create took: what to undo or hand over if it does not go through. */
export interface TakenCapacity {
  readonly token: string;
  /** When the units were taken (epoch ms, as in the token). */
  readonly at: number;
  readonly held: readonly HeldUnit[];
}

/**
 * How long a unit taken for a create that has not claimed its session yet keeps other creates of
 * the chat waiting. A take is followed by its claim within a few round trips, so a token older than
 * this belongs to a create that crashed or gave up, and another create may take the unit over. A
 * create that is still before its claim this long after its take gives its units back and goes
 * round, so no claim is sent after the window: the recount, which waits for the much longer repair
 * grace, can never free a unit whose claim is still coming.
 */
export const TAKE_WINDOW_MS = 10_000;

/** `takeCapacity`'s answer when another create of the chat holds its unit right now. */
export const CHAT_BUSY = 'busy';

/**
 * Takes the chat's unit in the tenant's scope and, with an owner, in the owner's, for the session
 * `sessionId`, which replaces the session `replaces` (the chat's item as read) if there is one.
 * A scope at its limit is 429 `quota_exceeded` naming it, and a unit another create of the chat
 * took moments ago answers `CHAT_BUSY`; either way after undoing what this call took.
 */
export async function takeCapacity(
  deps: Pick<CoreDeps, 'quotas' | 'clock' | 'config'>,
  key: ChatKey,
  ownerId: string | null,
  sessionId: string,
  limits: Limits,
  replaces?: string,
): Promise<TakenCapacity | typeof CHAT_BUSY> {
  const { quotas, clock, config } = deps;
  const now = clock.now();
  const token = `${sessionId}@${now}`;
  const graceMs = config.quotas.repairGraceSeconds * 1000;
  // The owner's first, then the tenant's: an owner at its limit never holds a tenant unit, even
  // for a moment, so it cannot make another owner's create fail at the tenant's limit.
  const scopes: [QuotaScope, number][] = [];
  if (ownerId) scopes.push([ownerScope(key.tenant, ownerId), limits.owner]);
  scopes.push([tenantScope(key.tenant), limits.tenant]);
  const held: HeldUnit[] = [];
  for (const [scope, limit] of scopes) {
    let result: TakeResult;
    try {
      result = await takeOne(quotas, scope, key.chatId, token, { limit, now, graceMs, replaces });
    } catch (error) {
      // A take that failed outright (throttled, unreachable) leaves nothing of this create behind.
      // If the give-back fails too, the recount returns the units after the grace.
      await giveBack(deps, key, { token, at: now, held }).catch(() => {});
      throw error;
    }
    if (result.ok) {
      held.push({ scope, previous: result.previous });
      continue;
    }
    await giveBack(deps, key, { token, at: now, held });
    if (!result.full) return CHAT_BUSY;
    const who = scope.kind === 'tenant' ? 'The tenant' : `Owner '${ownerId}'`;
    throw new SandboxError(
      'quota_exceeded',
      `${who} has ${result.current} live sandboxes, the limit is ${limit}.`,
      {
        retryAfterSeconds: QUOTA_RETRY_AFTER_SECONDS,
        extra: { limit: { scope: scope.kind, max: limit, current: result.current } },
      },
    );
  }
  return { token, at: now, held };
}

/**
 * One scope's take. A unit held with a token older than `TAKE_WINDOW_MS` is taken over from exactly
 * that token; a younger one is another create's, in flight.
 */
async function takeOne(
  quotas: QuotaStore,
  scope: QuotaScope,
  chatId: string,
  token: string,
  options: TakeOptions,
): Promise<TakeResult> {
  let over: string | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const result = await quotas.take(scope, chatId, token, { ...options, over });
    if (result.ok || result.full) return result;
    if (result.held !== null && takenAt(result.held) > options.now - TAKE_WINDOW_MS) return result;
    over = result.held ?? undefined;
  }
  return { ok: false, full: false, held: null };
}

/**
 * Undoes a create's takes, where nobody took the unit over since: a unit the chat held before goes
 * back to the token it had, one this create added is given back.
 */
export async function giveBack(
  deps: Pick<CoreDeps, 'quotas'>,
  key: ChatKey,
  taken: TakenCapacity,
): Promise<void> {
  await Promise.all(taken.held.map((unit) => undoTake(deps, key, taken.token, unit)));
}

function undoTake(
  deps: Pick<CoreDeps, 'quotas'>,
  key: ChatKey,
  token: string,
  unit: HeldUnit,
): Promise<void> {
  return unit.previous
    ? deps.quotas.handOver(unit.scope, key.chatId, token, unit.previous)
    : deps.quotas.giveBack(unit.scope, key.chatId, token);
}

/** The token a session holds its units with, as far as a release is concerned. */
function tokenOf(session: Session): string {
  return `${session.sessionId}@${session.createdAt}`;
}

function sameScope(a: QuotaScope, b: QuotaScope): boolean {
  return (
    a.kind === b.kind &&
    a.tenant === b.tenant &&
    (a.kind === 'tenant' || a.ownerId === (b as typeof a).ownerId)
  );
}

/**
 * After a lost claim: each unit this create holds goes to the session that won the chat, when that
 * session counts in the scope, and is otherwise undone (`giveBack`). Without this the winner's
 * release would find this create's token and leave the unit to the recount.
 */
export async function handOver(
  deps: Pick<CoreDeps, 'quotas'>,
  key: ChatKey,
  taken: TakenCapacity,
  winner: Session | null,
): Promise<void> {
  const winnerScopes = winner && COUNTED_STATUSES.includes(winner.status) ? scopesOf(winner) : [];
  await Promise.all(
    taken.held.map((unit) =>
      winner && winnerScopes.some((scope) => sameScope(scope, unit.scope))
        ? deps.quotas.handOver(unit.scope, key.chatId, taken.token, tokenOf(winner))
        : undoTake(deps, key, taken.token, unit),
    ),
  );
}

/** When a token was taken (its epoch ms suffix). */
function takenAt(token: string): number {
  const at = Number(token.slice(token.lastIndexOf('@') + 1));
  return Number.isFinite(at) ? at : 0;
}

/**
 * One recount of a due scope, level-triggered: a unit is held rightly while its chat's session is
 * counted (`provisioning`, `running`, `stopping`) and belongs to the scope; any other unit older
 * than the grace is given back. Answers how many units were given back.
 */
export async function recountScope(deps: CoreDeps, state: QuotaState, now: number): Promise<number> {
  const { quotas, store, config } = deps;
  const graceMs = config.quotas.repairGraceSeconds * 1000;
  const settled = Object.entries(state.members).filter(([, token]) => takenAt(token) <= now - graceMs);
  const sessions = await store.getMany(settled.map(([chatId]) => ({ tenant: state.scope.tenant, chatId })));
  let givenBack = 0;
  for (const [index, [chatId, token]] of settled.entries()) {
    const session = sessions[index] ?? null;
    const counted =
      session !== null &&
      COUNTED_STATUSES.includes(session.status) &&
      (state.scope.kind === 'tenant' || session.ownerId === state.scope.ownerId);
    if (counted) continue;
    await quotas.giveBack(state.scope, chatId, token);
    givenBack += 1;
  }
  // Units too young to judge keep the scope due; otherwise it rests until the next take.
  if (settled.length === Object.keys(state.members).length) {
    await quotas.settleRecount(state.scope, now - graceMs);
  }
  return givenBack;
}
