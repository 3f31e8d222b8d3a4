import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CreditSource } from "../contracts/usage.js";
import { sortForConsumption, type GrantSnapshot } from "./consumption.js";
import { ALERT_RETRY_WINDOW_MS, lowBalanceTransition, nextAlertAttemptAt, planCappedDebitInPlace, poolCapLeft, poolCreditsOf, shouldStartTopUp } from "./pool-controls.js";

const NOW = new Date("2026-03-15T12:00:00Z");
const grant = (id: string, source: CreditSource, remaining: number): GrantSnapshot => ({ id, source, remaining, expiresAt: null, createdAt: new Date(NOW.getTime() - 86400_000) });

describe("pool cap (credits.md: caps)", () => {
  it("refuses an event whose pool part would pass the cap, even though the pool could cover it", () => {
    const grants = sortForConsumption([grant("own", "website", 30), grant("pool", "group_one_time", 1000)], NOW);
    expect(planCappedDebitInPlace(grants, 80, 50)).toMatchObject({ ok: true }); // 30 own + 50 pool: exactly the cap
    expect(planCappedDebitInPlace(grants, 1, 0)).toMatchObject({ ok: false, code: "pool_cap_reached" });
    expect(grants.map((g) => g.remaining)).toEqual([0, 950]); // the refusal changed nothing
  });

  it("never caps the website's own credits", () => {
    const grants = sortForConsumption([grant("own", "website", 100), grant("pool", "group_monthly", 100)], NOW);
    expect(planCappedDebitInPlace(grants, 100, 0)).toMatchObject({ ok: true, parts: [{ grantId: "own", credits: 100 }] });
  });

  it("answers insufficient_credits, not pool_cap_reached, when the event cannot be covered at all", () => {
    const grants = sortForConsumption([grant("own", "website", 10), grant("pool", "group_monthly", 10)], NOW);
    expect(planCappedDebitInPlace(grants, 21, 0)).toMatchObject({ ok: false, code: "insufficient_credits", available: 20 });
    expect(planCappedDebitInPlace(grants, 20, 9)).toMatchObject({ ok: false, code: "pool_cap_reached" });
  });

  it("counts what is left of the cap", () => {
    expect(poolCapLeft(null)).toBeNull();
    expect(poolCapLeft({ monthlyCredits: 100, usedCredits: 30 })).toBe(70);
    expect(poolCapLeft({ monthlyCredits: 100, usedCredits: 130 })).toBe(0); // lowered below what was used
  });

  /**
   * Against a model: balances as three numbers and a cap as a counter. A sequence of events in any
   * order gives the same outcomes, the pool drawn never passes the cap, and every refusal names
   * the right reason.
   */
  it("agrees with a model of balances and a cap over any sequence of events", () => {
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.nat(200),
        fc.nat(200),
        fc.option(fc.nat(300), { nil: null }),
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 30 }),
        (own, monthly, oneTime, cap, events) => {
          const grants = sortForConsumption(
            [grant("o", "website", own), grant("m", "group_monthly", monthly), grant("t", "group_one_time", oneTime)].filter((g) => g.remaining > 0),
            NOW,
          );
          const model = { own, pool: monthly + oneTime, drawn: 0 };
          let used = 0;
          for (const credits of events) {
            const result = planCappedDebitInPlace(grants, credits, cap === null ? null : poolCapLeft({ monthlyCredits: cap, usedCredits: used }));
            const poolPart = Math.max(0, credits - model.own);
            if (model.own + model.pool < credits) {
              expect(result).toMatchObject({ ok: false, code: "insufficient_credits" });
            } else if (cap !== null && model.drawn + poolPart > cap) {
              expect(result).toMatchObject({ ok: false, code: "pool_cap_reached" });
            } else {
              if (!result.ok) throw new Error(`refused ${credits}: ${result.code}`);
              expect(result.parts.reduce((n, p) => n + p.credits, 0)).toBe(credits);
              expect(poolCreditsOf(result.parts)).toBe(poolPart);
              model.own -= credits - poolPart;
              model.pool -= poolPart;
              model.drawn += poolPart;
              used += poolCreditsOf(result.parts);
            }
            expect(grants.reduce((n, g) => n + g.remaining, 0)).toBe(model.own + model.pool);
            if (cap !== null) expect(used).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("low-balance crossings", () => {
  it("flips once per crossing and never without a threshold", () => {
    expect(lowBalanceTransition({ wasLow: false, available: 99, threshold: 100 })).toEqual({ isLow: true, event: "group.credits.low" });
    expect(lowBalanceTransition({ wasLow: true, available: 50, threshold: 100 })).toEqual({ isLow: true, event: null });
    expect(lowBalanceTransition({ wasLow: true, available: 100, threshold: 100 })).toEqual({ isLow: false, event: "group.credits.recovered" });
    expect(lowBalanceTransition({ wasLow: false, available: 100, threshold: 100 })).toEqual({ isLow: false, event: null });
    expect(lowBalanceTransition({ wasLow: true, available: 0, threshold: null })).toEqual({ isLow: false, event: null });
  });

  it("emits alternating low and recovered events, one per crossing, for any walk of the balance", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.array(fc.nat(1000), { maxLength: 50 }), (threshold, balances) => {
        let wasLow = false;
        const events: string[] = [];
        let crossings = 0;
        let prevBelow = false;
        for (const available of balances) {
          const t = lowBalanceTransition({ wasLow, available, threshold });
          if (t.event) events.push(t.event);
          wasLow = t.isLow;
          if (available < threshold !== prevBelow) crossings++;
          prevBelow = available < threshold;
        }
        expect(events).toHaveLength(crossings);
        events.forEach((e, i) => expect(e).toBe(i % 2 === 0 ? "group.credits.low" : "group.credits.recovered"));
      }),
    );
  });
});

describe("auto top-up start", () => {
  const base = { enabled: true, available: 10, threshold: 100, inFlight: false, startedThisMonth: 0, maxPerMonth: 2 };
  it("starts one while below, none in flight and under the monthly limit", () => {
    expect(shouldStartTopUp(base)).toBe(true);
    expect(shouldStartTopUp({ ...base, available: 100 })).toBe(false);
    expect(shouldStartTopUp({ ...base, inFlight: true })).toBe(false);
    expect(shouldStartTopUp({ ...base, startedThisMonth: 2 })).toBe(false);
    expect(shouldStartTopUp({ ...base, enabled: false })).toBe(false);
  });
});

describe("alert retries", () => {
  it("doubles the delay from the base up to an hour and gives up after the retry window (over 24 h)", () => {
    const createdAt = NOW;
    const delay = (attempt: number, now = NOW) => nextAlertAttemptAt({ attempt, baseMs: 10_000, createdAt, now })!.getTime() - now.getTime();
    expect([1, 2, 3, 4].map((a) => delay(a))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(delay(30)).toBe(3600_000);
    expect(ALERT_RETRY_WINDOW_MS).toBeGreaterThanOrEqual(24 * 3600_000);
    expect(nextAlertAttemptAt({ attempt: 40, baseMs: 10_000, createdAt, now: new Date(NOW.getTime() + 24 * 3600_000) })).not.toBeNull();
    expect(nextAlertAttemptAt({ attempt: 40, baseMs: 10_000, createdAt, now: new Date(NOW.getTime() + ALERT_RETRY_WINDOW_MS) })).toBeNull();
  });
});
