import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  availableCredits,
  planDebitInPlace,
  sortForConsumption,
  type DebitPart,
  type GrantSnapshot,
} from "./consumption.js";

const NOW = new Date("2025-03-15T12:00:00.000Z");
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY);

function grant(overrides: Partial<GrantSnapshot> & Pick<GrantSnapshot, "id">): GrantSnapshot {
  return { source: "website", remaining: 10, expiresAt: null, createdAt: at(-30), ...overrides };
}

const cloneGrants = (grants: readonly GrantSnapshot[]) => grants.map((g) => ({ ...g }));
const idsOf = (grants: readonly GrantSnapshot[]) => grants.map((g) => g.id);
const partIds = (parts: readonly DebitPart[]) => parts.map((p) => p.grantId);

/** What production does for one event (ledger/debit-usage.ts): sort the locked grants, then plan in place. */
function debitOnce(grants: readonly GrantSnapshot[], credits: number, now: Date): DebitPart[] | null {
  return planDebitInPlace(sortForConsumption(cloneGrants(grants), now), credits);
}

function expectOk(parts: DebitPart[] | null): DebitPart[] {
  if (!parts) throw new Error("expected the debit to be covered");
  return parts;
}

describe("consumption order (credits.md)", () => {
  it("spends the website's grants earliest expiry first, never-expiring last", () => {
    const grants = [
      grant({ id: "never", expiresAt: null }),
      grant({ id: "late", expiresAt: at(20) }),
      grant({ id: "soon", expiresAt: at(2) }),
    ];
    expect(idsOf(sortForConsumption(grants, NOW))).toEqual(["soon", "late", "never"]);
    expect(expectOk(debitOnce(grants, 15, NOW))).toEqual([
      { grantId: "soon", source: "website", credits: 10 },
      { grantId: "late", source: "website", credits: 5 },
    ]);
  });

  it("breaks expiry ties oldest first, then by id", () => {
    const grants = [
      grant({ id: "b", createdAt: at(-5) }),
      grant({ id: "young", createdAt: at(-1) }),
      grant({ id: "a", createdAt: at(-5) }),
      grant({ id: "old", createdAt: at(-9) }),
    ];
    expect(idsOf(sortForConsumption(grants, NOW))).toEqual(["old", "a", "b", "young"]);
  });

  it("uses the website's grants fully before the group's monthly grant, then one-time grants", () => {
    const grants = [
      grant({ id: "one-time", source: "group_one_time", remaining: 100 }),
      grant({ id: "monthly", source: "group_monthly", remaining: 5, expiresAt: at(1) }),
      grant({ id: "site", source: "website", remaining: 3, expiresAt: null }),
    ];
    expect(expectOk(debitOnce(grants, 10, NOW))).toEqual([
      { grantId: "site", source: "website", credits: 3 },
      { grantId: "monthly", source: "group_monthly", credits: 5 },
      { grantId: "one-time", source: "group_one_time", credits: 2 },
    ]);
  });

  it("spends a website grant that never expires before a group monthly grant that expires soon", () => {
    const grants = [
      grant({ id: "monthly", source: "group_monthly", expiresAt: at(1) }),
      grant({ id: "site", source: "website", expiresAt: null }),
    ];
    expect(partIds(expectOk(debitOnce(grants, 4, NOW)))).toEqual(["site"]);
  });

  it("orders several monthly grants by expiry and one-time grants oldest first", () => {
    const grants = [
      grant({ id: "ot-new", source: "group_one_time", createdAt: at(-1) }),
      grant({ id: "m-next", source: "group_monthly", expiresAt: at(40), createdAt: at(-40) }),
      grant({ id: "ot-old", source: "group_one_time", createdAt: at(-100) }),
      grant({ id: "m-now", source: "group_monthly", expiresAt: at(10), createdAt: at(-2) }),
    ];
    expect(idsOf(sortForConsumption(grants, NOW))).toEqual(["m-now", "m-next", "ot-old", "ot-new"]);
  });

  it("never spends expired grants (expiresAt <= now) or empty ones", () => {
    const grants = [
      grant({ id: "expired-exactly-now", expiresAt: NOW }),
      grant({ id: "expired", source: "group_monthly", expiresAt: at(-1) }),
      grant({ id: "empty", remaining: 0 }),
      grant({ id: "negative", remaining: -3 }),
      grant({ id: "live", expiresAt: new Date(NOW.getTime() + 1) }),
    ];
    expect(idsOf(sortForConsumption(grants, NOW))).toEqual(["live"]);
    expect(availableCredits(grants, NOW)).toBe(10);
    expect(debitOnce(grants, 11, NOW)).toBeNull();
  });

  it("splits one event across several grants and lists each part", () => {
    const grants = [grant({ id: "a", remaining: 1, createdAt: at(-3) }), grant({ id: "b", remaining: 1, createdAt: at(-2) }), grant({ id: "c", remaining: 1, createdAt: at(-1) })];
    expect(expectOk(debitOnce(grants, 3, NOW)).map((p) => p.credits)).toEqual([1, 1, 1]);
  });

  it("is all or nothing: an event the balances cannot cover debits nothing", () => {
    const grants = [grant({ id: "site", remaining: 4 }), grant({ id: "ot", source: "group_one_time", remaining: 5 })];
    const before = cloneGrants(grants);
    expect(debitOnce(grants, 10, NOW)).toBeNull();
    expect(availableCredits(grants, NOW)).toBe(9);
    expect(grants).toEqual(before);
    expect(expectOk(debitOnce(grants, 9, NOW)).map((p) => p.credits)).toEqual([4, 5]);
  });

  it("without a group pool only the website's grants count", () => {
    expect(debitOnce([], 1, NOW)).toBeNull();
  });

  it("sortForConsumption returns a new array and leaves its input as it was", () => {
    const grants = [grant({ id: "b", createdAt: at(-1) }), grant({ id: "a", createdAt: at(-2) })];
    const before = cloneGrants(grants);
    const sorted = sortForConsumption(grants, NOW);
    expect(sorted).not.toBe(grants);
    expect(grants).toEqual(before);
  });

  it("rejects amounts that are not positive integers", () => {
    const grants = [grant({ id: "a" })];
    for (const credits of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => planDebitInPlace(sortForConsumption(grants, NOW), credits)).toThrow(RangeError);
    }
  });

  it("planDebitInPlace decrements grants across a batch, skips emptied ones, and returns null without change when short", () => {
    const sorted = sortForConsumption(
      [grant({ id: "site", remaining: 3 }), grant({ id: "ot", source: "group_one_time", remaining: 4 })],
      NOW,
    );
    expect(planDebitInPlace(sorted, 3)).toEqual([{ grantId: "site", source: "website", credits: 3 }]);
    expect(planDebitInPlace(sorted, 2)).toEqual([{ grantId: "ot", source: "group_one_time", credits: 2 }]);
    expect(planDebitInPlace(sorted, 3)).toBeNull();
    expect(sorted.map((g) => g.remaining)).toEqual([0, 2]);
    expect(planDebitInPlace(sorted, 2)).toEqual([{ grantId: "ot", source: "group_one_time", credits: 2 }]);
    expect(sorted.map((g) => g.remaining)).toEqual([0, 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests against a deliberately plain model of credits.md.

/** The plain model: bucket by source, sort each bucket by its rule, take greedily. */
function modelDebit(grants: readonly GrantSnapshot[], credits: number, now: Date) {
  const live = grants.filter((g) => g.remaining > 0 && (g.expiresAt === null || g.expiresAt > now));
  const total = live.reduce((sum, g) => sum + g.remaining, 0);
  if (total < credits) return { ok: false as const, available: total };

  const expiry = (g: GrantSnapshot) => (g.expiresAt === null ? Infinity : g.expiresAt.getTime());
  const byAge = (a: GrantSnapshot, b: GrantSnapshot) =>
    a.createdAt.getTime() !== b.createdAt.getTime()
      ? a.createdAt.getTime() - b.createdAt.getTime()
      : a.id < b.id
        ? -1
        : a.id > b.id
          ? 1
          : 0;
  const byExpiryThenAge = (a: GrantSnapshot, b: GrantSnapshot) =>
    expiry(a) === expiry(b) ? byAge(a, b) : expiry(a) < expiry(b) ? -1 : 1;

  const ordered = [
    ...live.filter((g) => g.source === "website").sort(byExpiryThenAge),
    ...live.filter((g) => g.source === "group_monthly").sort(byExpiryThenAge),
    ...live.filter((g) => g.source === "group_one_time").sort(byAge),
  ];
  const parts: DebitPart[] = [];
  let left = credits;
  for (const g of ordered) {
    const take = Math.min(left, g.remaining);
    if (take > 0) parts.push({ grantId: g.id, source: g.source, credits: take });
    left -= take;
  }
  return { ok: true as const, parts };
}

const MINUTE = 60_000;
// Few distinct instants, so ties in expiry and age come up often; expiries straddle `now`.
const grantsArb = fc
  .array(
    fc.record({
      source: fc.constantFrom("website", "group_monthly", "group_one_time"),
      remaining: fc.integer({ min: -2, max: 20 }),
      expiresInMinutes: fc.option(fc.integer({ min: -3, max: 4 }), { nil: null }),
      createdMinutesAgo: fc.integer({ min: 0, max: 4 }),
    }),
    { maxLength: 8 },
  )
  .map((rows) =>
    rows.map(
      (r, i): GrantSnapshot => ({
        id: `g${(i * 7) % 10}${i}`, // unique, but not in creation order
        source: r.source,
        remaining: r.remaining,
        // One-time grants never expire (credits.md).
        expiresAt:
          r.expiresInMinutes === null || r.source === "group_one_time"
            ? null
            : new Date(NOW.getTime() + r.expiresInMinutes * MINUTE),
        createdAt: new Date(NOW.getTime() - r.createdMinutesAgo * MINUTE),
      }),
    ),
  );
const creditsArb = fc.integer({ min: 1, max: 80 });

const isLive = (g: GrantSnapshot) => g.remaining > 0 && (g.expiresAt === null || g.expiresAt > NOW);
const usedBy = (parts: readonly DebitPart[]) => {
  const used = new Map<string, number>();
  for (const p of parts) used.set(p.grantId, (used.get(p.grantId) ?? 0) + p.credits);
  return used;
};
const exp = (g: GrantSnapshot) => (g.expiresAt === null ? Infinity : g.expiresAt.getTime());

/**
 * The planner production runs, over a batch: one sort of the locked grants, then every event
 * planned in place in arrival order (exactly ledger/debit-usage.ts). Each event is compared with
 * the plain model applied to the state the earlier events left.
 */
function runBatch(grants: readonly GrantSnapshot[], events: readonly number[]) {
  const sorted = sortForConsumption(cloneGrants(grants), NOW);
  const state = cloneGrants(grants);
  const steps: { credits: number; parts: DebitPart[] | null; before: GrantSnapshot[]; model: ReturnType<typeof modelDebit>; sortedBefore: GrantSnapshot[]; sortedAfter: GrantSnapshot[] }[] = [];
  for (const credits of events) {
    const before = cloneGrants(state);
    const sortedBefore = cloneGrants(sorted);
    const parts = planDebitInPlace(sorted, credits);
    const model = modelDebit(state, credits, NOW);
    steps.push({ credits, parts, before, model, sortedBefore, sortedAfter: cloneGrants(sorted) });
    if (parts) for (const p of parts) state.find((g) => g.id === p.grantId)!.remaining -= p.credits;
  }
  return { sorted, state, steps };
}
const eventsArb = fc.array(creditsArb, { minLength: 1, maxLength: 10 });

describe("planDebitInPlace properties (the planner production calls)", () => {
  it("matches the plain model for every event of a batch", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        for (const step of runBatch(grants, events).steps) {
          if (step.model.ok) expect(step.parts).toEqual(step.model.parts);
          else expect(step.parts).toBeNull();
        }
      }),
    );
  });

  it("parts are positive, sum to the amount, overdraw no grant and never touch an expired or empty one", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        for (const { parts, credits, before } of runBatch(grants, events).steps) {
          if (!parts) continue;
          expect(parts.reduce((s, p) => s + p.credits, 0)).toBe(credits);
          const byId = new Map(before.map((g) => [g.id, g]));
          for (const [id, used] of usedBy(parts)) {
            const g = byId.get(id);
            expect(g).toBeDefined();
            if (!g) return;
            expect(isLive(g)).toBe(true);
            expect(used).toBeLessThanOrEqual(g.remaining);
          }
          for (const p of parts) {
            expect(p.credits).toBeGreaterThan(0);
            expect(p.source).toBe(byId.get(p.grantId)?.source);
          }
        }
      }),
    );
  });

  it("drains the website's grants before any group credit, and monthly before one-time", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        for (const { parts, before } of runBatch(grants, events).steps) {
          if (!parts) continue;
          const used = usedBy(parts);
          const drained = (g: GrantSnapshot) => !isLive(g) || used.get(g.id) === g.remaining;
          const uses = (source: GrantSnapshot["source"]) => parts.some((p) => p.source === source);
          if (uses("group_monthly") || uses("group_one_time")) {
            expect(before.filter((g) => g.source === "website").every(drained)).toBe(true);
          }
          if (uses("group_one_time")) {
            expect(before.filter((g) => g.source === "group_monthly").every(drained)).toBe(true);
          }
        }
      }),
    );
  });

  it("uses a grant that expires sooner before a later or never-expiring one of the same owner", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        for (const { parts, before } of runBatch(grants, events).steps) {
          if (!parts) continue;
          const used = usedBy(parts);
          const live = before.filter(isLive);
          for (const later of live) {
            if (!used.has(later.id) || later.source === "group_one_time") continue;
            for (const sooner of live) {
              if (sooner.source === later.source && exp(sooner) < exp(later)) {
                expect(used.get(sooner.id)).toBe(sooner.remaining);
              }
            }
          }
        }
      }),
    );
  });

  it("is all or nothing: an event the live balance cannot cover gets null and changes no grant", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        const original = cloneGrants(grants);
        for (const { parts, credits, before, sortedBefore, sortedAfter } of runBatch(grants, events).steps) {
          const available = before.filter(isLive).reduce((s, g) => s + g.remaining, 0);
          expect(availableCredits(before, NOW)).toBe(available);
          expect(parts !== null).toBe(available >= credits);
          if (!parts) expect(sortedAfter).toEqual(sortedBefore);
        }
        expect(grants).toEqual(original); // the caller's grants are never touched
      }),
    );
  });

  it("leaves every grant with what the model says, and ends no grant below zero", () => {
    fc.assert(
      fc.property(grantsArb, eventsArb, (grants, events) => {
        const { sorted, state } = runBatch(grants, events);
        const final = new Map(sorted.map((g) => [g.id, g.remaining]));
        for (const g of state) if (final.has(g.id)) expect(final.get(g.id)).toBe(g.remaining);
        for (const g of state) if (!final.has(g.id)) expect(isLive(grants.find((x) => x.id === g.id) ?? g)).toBe(false);
        for (const g of sorted) expect(g.remaining).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
