import { addMonths } from "./periods.js";

/**
 * The pool forecast of the Usage section (credits.md, Settled details "Forecast"), as a pure
 * function; the method is written up in docs/usage-forecast.md.
 *
 * The rate is the pool draws (monthly + one-time debits) of the last 7 complete UTC days, spread
 * evenly over time: `drawsLast7Days / 7` credits a day, continuously from `now`. Draws take the
 * monthly remainder first, then one-time credits (the consumption order). At each period end the
 * monthly remainder expires and, while the plan renews, a new grant of `renewalCredits` arrives.
 * Arithmetic is exact (BigInt, in credit-milliseconds), so a known history has one known answer.
 */
export interface PoolForecastInput {
  now: Date;
  /** Credits drawn from the pool (monthly + one-time) on the 7 complete UTC days before today. */
  drawsLast7Days: number;
  /** What is left of the current period's monthly grant (0 if none). */
  monthlyRemaining: number;
  /** End of the current billing period (when the monthly remainder expires); null without a plan. */
  periodEnd: Date | null;
  oneTimeRemaining: number;
  /** Monthly credits each later period brings (the plan's current size), or null if it will not renew. */
  renewalCredits: number | null;
}

export interface PoolForecast {
  /** UTC day of the last moment the pool still holds credits at this rate; null if more than 365 days away. */
  poolEmptyOn: string | null;
  /** Monthly credits left unused (they expire) at the current period's end, at this rate; never negative. */
  monthlyUnusedAtPeriodEnd: number;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7n * BigInt(DAY_MS);
export const FORECAST_HORIZON_DAYS = 365;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayNumber = (ms: number) => Math.floor(ms / DAY_MS);

export function forecastPool(input: PoolForecastInput): PoolForecast {
  const nowMs = input.now.getTime();
  // Amounts are scaled by WEEK_MS: the rate is then exactly `drawsLast7Days` scaled units per millisecond.
  const rate = BigInt(Math.max(0, input.drawsLast7Days));
  const scaled = (credits: number) => BigInt(Math.max(0, credits)) * WEEK_MS;

  let monthlyUnusedAtPeriodEnd = 0;
  if (input.periodEnd && input.periodEnd.getTime() > nowMs) {
    const left = scaled(input.monthlyRemaining) - rate * BigInt(input.periodEnd.getTime() - nowMs);
    monthlyUnusedAtPeriodEnd = left > 0n ? Number(left / WEEK_MS) : 0;
  }

  const horizonDay = dayNumber(nowMs) + FORECAST_HORIZON_DAYS;
  let t = BigInt(nowMs);
  let monthly = input.periodEnd && input.periodEnd.getTime() > nowMs ? scaled(input.monthlyRemaining) : 0n;
  let oneTime = scaled(input.oneTimeRemaining);
  const firstEnd = input.periodEnd && input.periodEnd.getTime() > nowMs ? input.periodEnd : null;
  let periodEnd = firstEnd;
  let renewals = 0;

  for (;;) {
    const total = monthly + oneTime;
    const end = periodEnd ? BigInt(periodEnd.getTime()) : null;
    // The pool reaches zero in this stretch if the draws until its end cover all of it (or it never ends).
    if (end === null || total === 0n || (rate > 0n && total <= rate * (end - t))) {
      if (rate === 0n && total > 0n) return { poolEmptyOn: null, monthlyUnusedAtPeriodEnd };
      // Last millisecond at which something is left: t + ceil(total / rate) - 1 (t - 1 when nothing is left).
      const lastMs = Math.max(nowMs, Number(total === 0n ? t - 1n : t + (total - 1n) / rate));
      return { poolEmptyOn: dayNumber(lastMs) > horizonDay ? null : utcDay(lastMs), monthlyUnusedAtPeriodEnd };
    }
    // The period ends first: its draws take the monthly remainder, then one-time credits; the rest expires.
    const drawn = rate * (end - t);
    const fromMonthly = drawn < monthly ? drawn : monthly;
    oneTime -= drawn - fromMonthly;
    t = end;
    if (dayNumber(Number(t)) > horizonDay) return { poolEmptyOn: null, monthlyUnusedAtPeriodEnd };
    if (input.renewalCredits !== null && input.renewalCredits > 0) {
      monthly = scaled(input.renewalCredits);
      // Counted from the first end, so Jan 31 -> Feb 28 -> Mar 31 (no drift).
      periodEnd = addMonths(firstEnd!, ++renewals);
    } else {
      monthly = 0n;
      periodEnd = null;
    }
  }
}
