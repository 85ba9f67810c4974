/**
 * The "without quotas" side of figure 7: a quota port that limits nothing and answers at once from
 * memory, so a create through it costs what a create cost before owners and limits existed.
 */
import type { ChatKey } from '../../src/core/model.js';
import type {
  ChatRecord,
  DayTotals,
  OwnerClaim,
  QuotaState,
  QuotaStore,
  TakeResult,
  TenantLimits,
} from '../../src/core/quota-ports.js';

export class UnlimitedQuotas implements QuotaStore {
  async getChat(_key: ChatKey): Promise<ChatRecord | null> {
    return null;
  }
  async claimOwner(): Promise<OwnerClaim> {
    return { ok: true };
  }
  async take(): Promise<TakeResult> {
    return { ok: true, previous: null };
  }
  async handOver(): Promise<void> {}
  async giveBack(): Promise<void> {}
  async release(): Promise<void> {}
  async count(): Promise<number> {
    return 0;
  }
  async *listDue(): AsyncIterable<QuotaState> {}
  async settleRecount(): Promise<void> {}
  async limits(): Promise<TenantLimits | null> {
    return null;
  }
  async setLimits(): Promise<void> {}
  async usage(): Promise<DayTotals[]> {
    return [];
  }
}
