import type { CreditSource } from "../contracts/usage.js";

/**
 * Consumption order (docs: /spec/credits.md "Consumption order"), as pure functions.
 *
 * A usage event is debited from, in order:
 * 1. the website's own grants: earliest expiry first, never-expiring last; then oldest first
 *    (`createdAt`), then `id` so the order is total and the same on every process;
 * 2. the group's monthly grant(s): earliest expiry first (then oldest, then id);
 * 3. the group's one-time grants: oldest first (then id).
 * Grants that have expired (`expiresAt <= now`) or hold nothing (`remaining <= 0`) are never spent.
 * A debit is all or nothing.
 */
export type GrantSnapshot = {
  id: string;
  source: CreditSource;
  remaining: number;
  expiresAt: Date | null;
  createdAt: Date;
};

export type DebitPart = { grantId: string; source: CreditSource; credits: number };

const SOURCE_RANK: Record<CreditSource, number> = { website: 0, group_monthly: 1, group_one_time: 2 };

function isSpendable(grant: GrantSnapshot, nowMs: number): boolean {
  return grant.remaining > 0 && (grant.expiresAt === null || grant.expiresAt.getTime() > nowMs);
}

function expiryMs(grant: GrantSnapshot): number {
  return grant.expiresAt === null ? Number.POSITIVE_INFINITY : grant.expiresAt.getTime();
}

function compareForConsumption(a: GrantSnapshot, b: GrantSnapshot): number {
  const rank = SOURCE_RANK[a.source] - SOURCE_RANK[b.source];
  if (rank !== 0) return rank;
  if (a.source !== "group_one_time") {
    const ea = expiryMs(a);
    const eb = expiryMs(b);
    // Infinity - Infinity is NaN, so compare rather than subtract.
    if (ea !== eb) return ea < eb ? -1 : 1;
  }
  const created = a.createdAt.getTime() - b.createdAt.getTime();
  if (created !== 0) return created;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function assertDebitAmount(credits: number): void {
  if (!Number.isSafeInteger(credits) || credits < 1) {
    throw new RangeError(`credits must be a positive integer, got ${credits}`);
  }
}

/**
 * The spendable grants (not expired at `now`, something left) in consumption order.
 * Returns a new array; the input array and its grants are not changed.
 */
export function sortForConsumption(grants: readonly GrantSnapshot[], now: Date): GrantSnapshot[] {
  const nowMs = now.getTime();
  const spendable: GrantSnapshot[] = [];
  for (const grant of grants) if (isSpendable(grant, nowMs)) spendable.push(grant);
  return spendable.sort(compareForConsumption);
}

/** Credits that could be spent at `now`: the sum over grants that are not expired and not empty. */
export function availableCredits(grants: readonly GrantSnapshot[], now: Date): number {
  const nowMs = now.getTime();
  let total = 0;
  for (const grant of grants) if (isSpendable(grant, nowMs)) total += grant.remaining;
  return total;
}

/** Walks sorted grants taking credits; the caller has checked that they suffice. */
function takeParts(sorted: readonly GrantSnapshot[], credits: number): DebitPart[] {
  const parts: DebitPart[] = [];
  let left = credits;
  for (const grant of sorted) {
    if (left === 0) break;
    if (grant.remaining <= 0) continue;
    const take = grant.remaining < left ? grant.remaining : left;
    parts.push({ grantId: grant.id, source: grant.source, credits: take });
    grant.remaining -= take;
    left -= take;
  }
  return parts;
}

/**
 * The planner production runs (ledger/debit-usage.ts): debits `credits` from grants already passed
 * through `sortForConsumption`, decrementing their `remaining` in place; for a batch of events
 * against the same locked rows held in memory.
 * Grants emptied by earlier events are skipped. Returns the parts, or null (and changes nothing)
 * when the grants cannot cover the amount.
 * Throws RangeError if `credits` is not a positive integer.
 */
export function planDebitInPlace(sortedGrants: GrantSnapshot[], credits: number): DebitPart[] | null {
  assertDebitAmount(credits);
  let available = 0;
  for (const grant of sortedGrants) if (grant.remaining > 0) available += grant.remaining;
  if (available < credits) return null;
  return takeParts(sortedGrants, credits);
}
