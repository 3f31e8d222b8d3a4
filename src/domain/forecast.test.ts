import { describe, expect, it } from "vitest";
import { forecastPool, type PoolForecastInput } from "./forecast.js";

const at = (iso: string) => new Date(iso);
const base: PoolForecastInput = {
  now: at("2026-11-10T12:00:00Z"),
  drawsLast7Days: 0,
  monthlyRemaining: 0,
  periodEnd: null,
  oneTimeRemaining: 0,
  renewalCredits: null,
};
const forecast = (over: Partial<PoolForecastInput>) => forecastPool({ ...base, ...over });

describe("forecastPool: when the pool runs out", () => {
  it("one-time credits only: 1,000 credits at 100 a day from Nov 10 noon last until Nov 20 noon", () => {
    expect(forecast({ drawsLast7Days: 700, oneTimeRemaining: 1000 }).poolEmptyOn).toBe("2026-11-20");
  });

  it("a pool that reaches zero exactly at midnight ran out on the day before", () => {
    // 950 credits at 100 a day from noon: zero at Nov 20 00:00 exactly, the last credit is spent on Nov 19.
    expect(forecast({ drawsLast7Days: 700, oneTimeRemaining: 950 }).poolEmptyOn).toBe("2026-11-19");
    expect(forecast({ drawsLast7Days: 700, oneTimeRemaining: 951 }).poolEmptyOn).toBe("2026-11-20");
  });

  it("spends the monthly remainder first, then one-time credits, and counts each renewal at the plan's size", () => {
    // Nov 21 -> Dec 1 (10 days at 200): monthly 1,000 gone, one-time 5,000 -> 4,000.
    // Dec 1 -> Jan 1 (31 days, 6,200): the renewal's 3,000, then one-time 4,000 -> 800.
    // From Jan 1: 3,000 monthly last 15 days, 800 one-time 4 more: zero at Jan 20 00:00, last credit on Jan 19.
    const r = forecast({
      now: at("2026-11-21T00:00:00Z"),
      drawsLast7Days: 1400,
      monthlyRemaining: 1000,
      periodEnd: at("2026-12-01T00:00:00Z"),
      oneTimeRemaining: 5000,
      renewalCredits: 3000,
    });
    expect(r).toEqual({ poolEmptyOn: "2027-01-19", monthlyUnusedAtPeriodEnd: 0 });
  });

  it("a plan that does not renew: the unused remainder expires at period end and the pool is empty from then", () => {
    const r = forecast({ drawsLast7Days: 700, monthlyRemaining: 5000, periodEnd: at("2026-11-20T12:00:00Z"), oneTimeRemaining: 0, renewalCredits: null });
    // Credits are still there until the expiry instant (Nov 20 12:00), none after.
    expect(r.poolEmptyOn).toBe("2026-11-20");
    expect(r.monthlyUnusedAtPeriodEnd).toBe(4000);
  });

  it("a renewing plan larger than the draws never runs out: null", () => {
    const r = forecast({ drawsLast7Days: 350, monthlyRemaining: 1000, periodEnd: at("2026-11-30T00:00:00Z"), renewalCredits: 3000 });
    expect(r.poolEmptyOn).toBeNull();
  });

  it("no draws in the last 7 days: null while something is left, today when the pool is already empty", () => {
    expect(forecast({ drawsLast7Days: 0, oneTimeRemaining: 10 }).poolEmptyOn).toBeNull();
    expect(forecast({ drawsLast7Days: 0, oneTimeRemaining: 0 }).poolEmptyOn).toBe("2026-11-10");
    expect(forecast({ drawsLast7Days: 700, oneTimeRemaining: 0 }).poolEmptyOn).toBe("2026-11-10");
  });

  it("365 days ahead is a date, later is null", () => {
    // 10 a day from Nov 10 noon: 3,650 credits last exactly 365 days (zero at 2027-11-10 12:00).
    expect(forecast({ drawsLast7Days: 70, oneTimeRemaining: 3650 }).poolEmptyOn).toBe("2027-11-10");
    expect(forecast({ drawsLast7Days: 70, oneTimeRemaining: 3660 }).poolEmptyOn).toBeNull();
  });
});

describe("forecastPool: monthly credits left unused at period end", () => {
  it("is the remainder minus the rate times the days left", () => {
    // 5,000 left, 10 days to go at 100 a day.
    const r = forecast({ drawsLast7Days: 700, monthlyRemaining: 5000, periodEnd: at("2026-11-20T12:00:00Z"), oneTimeRemaining: 100_000, renewalCredits: 5000 });
    expect(r.monthlyUnusedAtPeriodEnd).toBe(4000);
  });

  it("counts part days exactly and rounds down", () => {
    // 1,000 left, 2.5 days to go at 7 a day -> 982.5 -> 982.
    const r = forecast({ drawsLast7Days: 49, monthlyRemaining: 1000, periodEnd: at("2026-11-13T00:00:00Z"), renewalCredits: 1000 });
    expect(r.monthlyUnusedAtPeriodEnd).toBe(982);
  });

  it("is 0 when the draws use it all, and without a monthly grant", () => {
    expect(forecast({ drawsLast7Days: 7000, monthlyRemaining: 500, periodEnd: at("2026-11-20T12:00:00Z") }).monthlyUnusedAtPeriodEnd).toBe(0);
    expect(forecast({ drawsLast7Days: 700, oneTimeRemaining: 500 }).monthlyUnusedAtPeriodEnd).toBe(0);
  });
});
