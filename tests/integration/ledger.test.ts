import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { adjustGrant, endMonthlyCredits, expireDueGrants, findCreditBalances, grantCredits, grantMonthlyPeriod } from "../../src/server/modules/ledger/index.js";
import { createOrgFixture } from "../support/factories.js";
import { createTestDatabase } from "../support/database.js";
import { expectLedgerConsistent } from "../support/invariant.js";

// The ledger module against the real database, with time passed in: every boundary is tested at
// one millisecond before, at and after it, without waiting.
let database: Database;
let drop: () => Promise<void>;
beforeAll(async () => {
  const t = await createTestDatabase();
  database = t.database;
  drop = () => t.drop();
});
afterAll(() => drop?.());

const T = new Date("2030-01-31T00:00:00.000Z");
const at = (ms: number) => new Date(T.getTime() + ms);
const DAY = 86400_000;

async function group() {
  const f = await createOrgFixture(database.db, { websites: 1 });
  await database.query(`insert into billing_profiles (group_id, customer_type, stripe_customer_id) values ($1, 'standard', $2)`, [f.groupA.id, `cus_l_${f.groupA.id.slice(0, 8)}`]);
  return f;
}
const monthly = (groupId: string, start: Date, end: Date, credits: number, now: Date, key = crypto.randomUUID()) =>
  database.transaction((q) => grantMonthlyPeriod(q, { groupId, periodStart: start, periodEnd: end, packages: credits / 1000, credits, sourceKey: `t:${key}`, now }));
const balances = (groupId: string, now: Date) => findCreditBalances(database.query, { websiteId: null, groupId, now });

describe("expiry at the boundary", () => {
  it("a monthly grant is spendable up to 1 ms before its end, not at or after it", async () => {
    const f = await group();
    await monthly(f.groupA.id, at(-30 * DAY), T, 5000, at(-DAY));
    expect((await balances(f.groupA.id, at(-1))).monthly?.remaining).toBe(5000);
    expect((await balances(f.groupA.id, T)).monthly).toBeNull();
    expect((await balances(f.groupA.id, at(1))).monthly).toBeNull();
  });

  it("the sweep writes nothing 1 ms before the end and the whole remainder at it, stamped with that instant", async () => {
    const f = await group();
    const g = await database.transaction((q) => grantCredits(q, { kind: "website", websiteId: f.websitesA[0]!.id, credits: 70, expiresAt: T, sourceKey: `t:${crypto.randomUUID()}`, now: new Date() }));
    const sweep = (now: Date) => database.transaction((q) => expireDueGrants(q, { now }));
    const entries = async () =>
      (await database.query<{ amount: string }>("select amount from ledger_entries where grant_id = $1 and kind = 'expiry'", [g.id])).rows.map((r) => Number(r.amount));
    await sweep(at(-1));
    expect(await entries()).toEqual([]);
    await sweep(T);
    expect(await entries()).toEqual([-70]);
    await sweep(at(1)); // nothing twice
    expect(await entries()).toEqual([-70]);
    const { rows } = await database.query<{ remaining: string; expired_at: Date }>("select remaining, expired_at from credit_grants where id = $1", [g.id]);
    expect(Number(rows[0]!.remaining)).toBe(0);
    expect(rows[0]!.expired_at.toISOString()).toBe(T.toISOString());
    await expectLedgerConsistent(database);
  });
});

describe("monthly periods", () => {
  it("a new period replaces the earlier one: its remainder is written as expired", async () => {
    const f = await group();
    await monthly(f.groupA.id, at(-30 * DAY), T, 5000, at(-DAY));
    await monthly(f.groupA.id, T, at(28 * DAY), 3000, T);
    const b = await balances(f.groupA.id, T);
    expect(b.monthly).toMatchObject({ granted: 3000, remaining: 3000, periodStart: T });
    const { rows } = await database.query<{ amount: string }>(
      "select l.amount from ledger_entries l join credit_grants g on g.id = l.grant_id where g.group_id = $1 and l.kind = 'expiry'",
      [f.groupA.id],
    );
    expect(rows.map((r) => Number(r.amount))).toEqual([-5000]);
    await expectLedgerConsistent(database);
  });

  it("a period that ended 0 ms ago grants nothing; one ending 1 ms from now is granted", async () => {
    const f = await group();
    expect(await monthly(f.groupA.id, at(-30 * DAY), T, 5000, T)).toBeNull();
    expect(await monthly(f.groupA.id, at(-30 * DAY), T, 5000, at(-1))).toMatchObject({ granted: 5000, created: true });
  });

  it("a late grant of an earlier period is granted once and expired at once, so only the latest period is spendable", async () => {
    const f = await group();
    await monthly(f.groupA.id, T, at(28 * DAY), 3000, T);
    await monthly(f.groupA.id, at(-30 * DAY), at(28 * DAY), 5000, T); // arrives late
    expect((await balances(f.groupA.id, T)).monthly).toMatchObject({ remaining: 3000 });
    await expectLedgerConsistent(database);
  });

  it("a new plan's first period is spendable even when an ended plan's period started later (a test clock ran ahead)", async () => {
    for (const spent of [false, true]) {
      const f = await group();
      const g = await monthly(f.groupA.id, at(30 * DAY), at(58 * DAY), 2000, at(30 * DAY));
      if (spent) await database.transaction((q) => adjustGrant(q, { grantId: g!.id, amount: -2000, now: new Date() }));
      await database.transaction((q) => endMonthlyCredits(q, { groupId: f.groupA.id, now: at(31 * DAY) }));
      await monthly(f.groupA.id, T, at(28 * DAY), 3000, T);
      expect((await balances(f.groupA.id, T)).monthly).toMatchObject({ granted: 3000, remaining: 3000, periodStart: T });
    }
    await expectLedgerConsistent(database);
  });

  it("the same source key grants once, however often and concurrently it is asked", async () => {
    const f = await group();
    const key = crypto.randomUUID();
    const results = await Promise.all(Array.from({ length: 5 }, () => monthly(f.groupA.id, at(-DAY), at(29 * DAY), 2000, T, key).catch((e: unknown) => e)));
    expect(results.filter((r) => (r as { created?: boolean } | null)?.created === true)).toHaveLength(1);
    expect((await balances(f.groupA.id, T)).monthly?.granted).toBe(2000);
    await expectLedgerConsistent(database);
  });
});

describe("adjustments", () => {
  it("move a balance within 0..granted as ledger entries, and refuse anything outside", async () => {
    const f = await group();
    const g = await database.transaction((q) => grantCredits(q, { kind: "one_time", groupId: f.groupA.id, credits: 100, sourceKey: `t:${crypto.randomUUID()}`, now: new Date() }));
    await database.transaction((q) => adjustGrant(q, { grantId: g.id, amount: -40, now: new Date() }));
    await database.transaction((q) => adjustGrant(q, { grantId: g.id, amount: 10, now: new Date() }));
    await expect(database.transaction((q) => adjustGrant(q, { grantId: g.id, amount: 31, now: new Date() }))).rejects.toMatchObject({ code: "conflict" });
    await expect(database.transaction((q) => adjustGrant(q, { grantId: g.id, amount: -71, now: new Date() }))).rejects.toMatchObject({ code: "conflict" });
    expect((await balances(f.groupA.id, T)).oneTime).toMatchObject({ granted: 100, remaining: 70 });
    await expectLedgerConsistent(database);
  });
});
