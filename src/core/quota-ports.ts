/**
 * Ports of owners, quotas and the usage ledger (docs/architecture.md, "Owners and quotas").
 *
 * - A chat belongs to the owner of its first sandbox: a per-chat record without TTL keeps it.
 * - Capacity is a map per scope (the tenant, and each owner of the tenant): chat id -> the token of
 *   the claim that took it (`<sessionId>@<epoch ms>`). A chat holds at most one unit per scope, so a
 *   session that replaces an expired predecessor of the same chat takes over its unit. Every write is
 *   one conditional update of one item, so no transaction is needed and nothing is counted twice.
 */
import type { ChatKey } from './model.js';

/**
 * The highest live-sandbox limit of a scope. A scope's item holds one map entry per unit (a chat id
 * and its token, about 90 bytes), so 2,000 units stay below half of DynamoDB's 400 KB item limit;
 * every take and give-back writes the whole item, about 1 WCU per KB.
 */
export const MAX_LIVE_LIMIT = 2_000;

export type QuotaScope =
  | { readonly kind: 'tenant'; readonly tenant: string }
  | { readonly kind: 'owner'; readonly tenant: string; readonly ownerId: string };

/** What a chat record says: its owner, when it has one, and whether it is being purged. */
export interface ChatRecord extends ChatKey {
  readonly ownerId: string | null;
  readonly createdAt: number;
  /** Epoch ms a purge of the chat began; null when none is under way. */
  readonly purgingAt?: number | null;
}

export type OwnerClaim = { readonly ok: true } | { readonly ok: false; readonly ownerId: string };

export type TakeResult =
  /**
   * The chat holds the scope's unit with this take's token now; `previous` is the token it replaced
   * (the predecessor's, or a stale one named by `over`), null when this take added the unit.
   */
  | { readonly ok: true; readonly previous: string | null }
  /** The scope is at its limit and the chat holds no unit of it; `current` units are held. */
  | { readonly ok: false; readonly full: true; readonly current: number }
  /**
   * The chat's unit is held with another token (`held`) that this take may not replace; null when
   * the token `over` named is gone and the chat holds no unit (take again without `over`).
   */
  | { readonly ok: false; readonly full: false; readonly held: string | null };

/** What a take may do beyond adding a unit under the limit. */
export interface TakeOptions {
  readonly limit: number;
  readonly now: number;
  /** How long after the take the scope comes due for a recount (the repair grace). */
  readonly graceMs: number;
  /** The session the new one replaces: a unit held with its token is taken over. */
  readonly replaces?: string;
  /** Take the unit over from exactly this token (and only then). */
  readonly over?: string;
}

/** A scope's capacity as stored. */
export interface QuotaState {
  readonly scope: QuotaScope;
  /** Chat id -> token (`<sessionId>@<epoch ms taken>`). */
  readonly members: Readonly<Record<string, string>>;
}

/** Per-tenant overrides an operator sets (absent fields: the configured defaults). */
export interface TenantLimits {
  readonly maxLiveSandboxes?: number;
  readonly maxLivePerOwner?: number;
}

/** What a finished session adds to its day's totals. */
export interface UsageRecord {
  /** The UTC day the session ended, `YYYY-MM-DD`. */
  readonly day: string;
  readonly sandboxSeconds: number;
  readonly vcpuSeconds: number;
  readonly gibSeconds: number;
}

export interface DayTotals extends Omit<UsageRecord, 'day'> {
  readonly date: string;
  readonly sessions: number;
}

export interface QuotaStore {
  /** The chat's record (strongly consistent), null when the chat has none yet. */
  getChat(key: ChatKey): Promise<ChatRecord | null>;
  /** Records `ownerId` as the chat's owner unless it has another; answers the owner it has. */
  claimOwner(key: ChatKey, ownerId: string, now: number): Promise<OwnerClaim>;
  /**
   * Takes the scope's unit for the chat with `token`: adds it unless the scope holds `limit` units
   * already, or takes it over from the replaced session's token or from `over`. Marks the scope due
   * for a recount `graceMs` later (unless it is due already), so a take that no session follows (a
   * crash) is given back.
   */
  take(scope: QuotaScope, chatId: string, token: string, options: TakeOptions): Promise<TakeResult>;
  /** Moves the chat's unit from token `from` to token `to`, if it is still held with `from`. */
  handOver(scope: QuotaScope, chatId: string, from: string, to: string): Promise<void>;
  /** Gives the chat's unit back if it is still held with exactly `token` (undoing a take). */
  giveBack(scope: QuotaScope, chatId: string, token: string): Promise<void>;
  /**
   * Gives the chat's unit back if the session `sessionId` took it. Anyone else's take stays, and
   * marks the scope due, so the recount decides whether that take is still held rightly.
   */
  release(scope: QuotaScope, chatId: string, sessionId: string, now: number): Promise<void>;
  /** Units held now. */
  count(scope: QuotaScope): Promise<number>;
  /** Scopes due for a recount at or before `dueBy` (a sparse index read). */
  listDue(dueBy: number): AsyncIterable<QuotaState>;
  /**
   * After a recount that judged every unit taken up to `judgedUpTo`: the scope is not due again
   * until another take. A take after `judgedUpTo` keeps it due.
   */
  settleRecount(scope: QuotaScope, judgedUpTo: number): Promise<void>;
  /** The tenant's overrides, if an operator set any. */
  limits(tenant: string): Promise<TenantLimits | null>;
  /** Sets (or, with null, removes) the tenant's overrides: the operator command's write. */
  setLimits(tenant: string, limits: TenantLimits | null): Promise<void>;
  /** Daily totals of a scope, `from` and `to` included (`YYYY-MM-DD`). */
  usage(scope: QuotaScope, from: string, to: string): Promise<DayTotals[]>;
}
