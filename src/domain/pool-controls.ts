import { planDebitInPlace, type DebitPart, type GrantSnapshot } from "./consumption.js";

/**
 * Pool controls (credits.md "Pool controls"), as pure rules: per-website caps on pool credits,
 * low-balance crossings, when an auto top-up starts, and how alert deliveries back off.
 */

export type CappedDebit = { ok: true; parts: DebitPart[] } | { ok: false; code: "insufficient_credits" | "pool_cap_reached"; available: number };

/** Credits the website may still draw from the pool this month; null when it has no cap. */
export function poolCapLeft(cap: { monthlyCredits: number; usedCredits: number } | null): number | null {
  return cap === null ? null : Math.max(0, cap.monthlyCredits - cap.usedCredits);
}

/**
 * `planDebitInPlace` with a cap on the pool part: the website's own grants first (never capped),
 * then the pool. An event that cannot be covered at all is `insufficient_credits` (that wins);
 * one that could be, but whose pool part would pass the cap, is `pool_cap_reached`. A refused
 * event changes nothing. `sortedGrants` are in consumption order (website grants first).
 */
export function planCappedDebitInPlace(sortedGrants: GrantSnapshot[], credits: number, capLeft: number | null): CappedDebit {
  let own = 0;
  let pool = 0;
  for (const g of sortedGrants) {
    if (g.remaining <= 0) continue;
    if (g.source === "website") own += g.remaining;
    else pool += g.remaining;
  }
  if (own + pool < credits) return { ok: false, code: "insufficient_credits", available: own + pool };
  const poolPart = credits - Math.min(own, credits);
  if (capLeft !== null && poolPart > capLeft) return { ok: false, code: "pool_cap_reached", available: own + Math.min(pool, capLeft) };
  const parts = planDebitInPlace(sortedGrants, credits)!;
  return { ok: true, parts };
}

/** Credits of a debit's parts drawn from the group pool (monthly + one-time). */
export const poolCreditsOf = (parts: readonly DebitPart[]) => parts.reduce((n, p) => (p.source === "website" ? n : n + p.credits), 0);

/**
 * The low-balance state after a change: low while the pool's available credits are below the
 * threshold (no threshold: never low). An event only when the state flips; clearing the
 * threshold resets the state without one.
 */
export function lowBalanceTransition({ wasLow, available, threshold }: { wasLow: boolean; available: number; threshold: number | null }) {
  const isLow = threshold !== null && available < threshold;
  const event: "group.credits.low" | "group.credits.recovered" | null =
    isLow === wasLow || threshold === null ? null : isLow ? "group.credits.low" : "group.credits.recovered";
  return { isLow, event };
}

/**
 * Whether to start an auto top-up now: it is on, the pool is below its threshold, none is in
 * flight (one at a time) and fewer than `maxPerMonth` were bought this calendar month.
 */
export function shouldStartTopUp(s: {
  enabled: boolean;
  available: number;
  threshold: number | null;
  inFlight: boolean;
  startedThisMonth: number;
  maxPerMonth: number | null;
}): boolean {
  return s.enabled && s.threshold !== null && s.maxPerMonth !== null && s.available < s.threshold && !s.inFlight && s.startedThisMonth < s.maxPerMonth;
}

/** Deliveries are retried for at least this long after the event was written. */
export const ALERT_RETRY_WINDOW_MS = 25 * 3600_000;
const MAX_RETRY_DELAY_MS = 3600_000;

/**
 * When to try again after failed attempt number `attempt` (1-based): `baseMs` doubled each time,
 * at most an hour apart; null once the event is older than the retry window (given up).
 */
export function nextAlertAttemptAt({ attempt, baseMs, createdAt, now }: { attempt: number; baseMs: number; createdAt: Date; now: Date }): Date | null {
  if (now.getTime() - createdAt.getTime() >= ALERT_RETRY_WINDOW_MS) return null;
  const delay = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return new Date(now.getTime() + delay);
}
