import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expireDueGrants } from "../../src/server/modules/ledger/index.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import type { ServerProcess } from "../support/process.js";
import { eventually, spawnPeer, startTestServer, type TestServer } from "../support/server.js";
import { holdRowLocks, waitForLockWaits } from "../support/locks.js";
import { startWebhookReceiver } from "../support/webhook-receiver.js";

// Concurrency comes from two API processes on PostgreSQL; PGlite is one embedded process.
const onPostgres = process.env.TEST_DB === "postgres";
const env = { ALLOW_PRIVATE_WEBHOOKS: "1", ALERT_RETRY_BASE_MS: "100", CONTROLS_POLL_MS: "50" };

let server: TestServer;
let second: ServerProcess | null = null;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
  server = await startTestServer(env);
  receiver = await startWebhookReceiver();
  if (onPostgres) {
    second = await spawnPeer(server, env);
  }
});
afterAll(async () => {
  await second?.kill();
  await receiver?.close();
  await server?.close();
});

async function pool(opts: { partner?: boolean; websites?: number } = {}) {
  const f = await createOrgFixture(server.db, { partnerManaged: opts.partner ?? false, websites: opts.websites ?? 3 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const key = await createApiKeyFor(server.deps.database, f.org.id);
  const urls = second ? [server.url, second.url] : [server.url];
  const apis = urls.map((u) => new Client(u, { authorization: `Bearer ${key}` }));
  const use = (i: number, websiteId: string, credits: number, idempotencyKey = crypto.randomUUID()) =>
    apis[i % apis.length]!.post("/api/v1/usage", { websiteId, credits, idempotencyKey });
  const alerts = async () => ((await admin.get(`/api/groups/${f.groupA.id}/billing/alerts`)).json.alerts as { id: string; type: string; deliveredAt: string | null }[]).reverse();
  const received = () => receiver.received.filter((r) => r.json.data.groupId === f.groupA.id).map((r) => r.json.type);
  return { f, admin, groupId: f.groupA.id, use, alerts, received, settings: `/api/groups/${f.groupA.id}/billing/settings` };
}

describe("low-balance alerts", () => {
  it("100 concurrent events crossing the threshold (two processes on PostgreSQL) emit exactly one low; a purchase one recovered", async () => {
    const g = await pool({ partner: true, websites: 10 });
    expect((await g.admin.post(`/api/groups/${g.groupId}/billing/enable`)).status).toBe(200);
    await fundGroupPool(server.deps.database, g.groupId, { monthly: 600, oneTime: 600 });
    await g.admin.put(g.settings, { lowBalanceThreshold: 500, alertWebhookUrl: receiver.url });
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => g.use(i, g.f.websitesA[i % 10]!.id, 10)));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ poolLow: true, poolAvailable: 200 });
    expect((await g.alerts()).map((a) => a.type)).toEqual(["group.credits.low"]);
    await eventually(() => Promise.resolve(g.received().length === 1));
    const low = receiver.received.find((r) => r.json.data.groupId === g.groupId)!;
    expect(low.json.data).toMatchObject({ threshold: 500 });
    // The balance after the transaction that crossed (one batch may carry many events across).
    expect(low.json.data.available as number).toBeLessThan(500);

    const bought = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
    expect(bought.json.status).toBe("completed");
    expect((await g.alerts()).map((a) => a.type)).toEqual(["group.credits.low", "group.credits.recovered"]);
    await eventually(() => Promise.resolve(g.received().length === 2));
    expect(g.received()).toEqual(["group.credits.low", "group.credits.recovered"]);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ poolLow: false, poolAvailable: 1200 });
    await expectLedgerConsistent(server.deps.database);
  });

  it("a pool that drains, refills and drains again alerts once per crossing, and expiry is a crossing too", async () => {
    const g = await pool();
    const periodEnd = new Date(Date.now() + 3 * 86400_000);
    await fundGroupPool(server.deps.database, g.groupId, { monthly: 300, oneTime: 100, periodEnd });
    await g.admin.put(g.settings, { lowBalanceThreshold: 150 });
    const site = g.f.websitesA[0]!.id;
    expect((await g.use(0, site, 200)).status).toBe(200); // 200 left: not low
    expect((await g.use(0, site, 60)).status).toBe(200); // 140: low
    expect((await g.use(0, site, 10)).status).toBe(200); // still low: nothing
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 100 }); // 230: recovered
    await server.deps.database.transaction((q) => expireDueGrants(q, { now: new Date(periodEnd.getTime() + 1) })); // the monthly 30 left expire: 200, no crossing
    expect((await g.use(0, site, 100)).status).toBe(200); // 100: low
    expect((await g.alerts()).map((a) => a.type)).toEqual(["group.credits.low", "group.credits.recovered", "group.credits.low"]);
    expect((await g.alerts()).every((a) => a.deliveredAt === null)).toBe(true); // no URL: listed, never sent
  });

  it("a first threshold saved while a debit that crosses it waits for the pool's grants is one low, whichever gets the pool first", async (ctx) => {
    ctx.skip(!onPostgres, "PostgreSQL only: the pool's grants are held in one connection while the debit and the save wait in others; PGlite has one connection");
    for (const debitFirst of [true, false]) {
      const g = await pool();
      await fundGroupPool(server.deps.database, g.groupId, { oneTime: 150 });
      const release = await holdRowLocks(server.deps.database, "select id from credit_grants where group_id = $1 for update", [g.groupId]);
      // The group's first controls, saved while a debit planned without them is under way.
      const debit = () => g.use(0, g.f.websitesA[0]!.id, 100);
      const save = () => g.admin.put(g.settings, { lowBalanceThreshold: 100 });
      const first = debitFirst ? debit() : save();
      await waitForLockWaits(server.deps.database, 1);
      const second = debitFirst ? save() : debit();
      await waitForLockWaits(server.deps.database, 2).catch(() => undefined); // before the fix the save did not wait
      await release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      // 50 left, under the threshold of 100: the crossing is known without waiting for another debit.
      expect((await g.admin.get(g.settings)).json, `debit first: ${debitFirst}`).toMatchObject({ poolLow: true, poolAvailable: 50 });
      expect((await g.alerts()).map((a) => a.type)).toEqual(["group.credits.low"]);
    }
  });
});

describe("per-website pool cap", () => {
  it("refuses exactly the events that would pass the cap, under 50 concurrent events (two processes on PostgreSQL)", async () => {
    const g = await pool({ websites: 2 });
    await fundGroupPool(server.deps.database, g.groupId, { monthly: 5000, oneTime: 5000 });
    const [capped, free] = g.f.websitesA.map((w) => w.id) as [string, string];
    const set = await g.admin.put(`/api/groups/${g.groupId}/websites/${capped}/pool-cap`, { monthlyCredits: 255 });
    expect(set.json).toEqual({ websiteId: capped, monthlyCredits: 255, usedThisMonth: 0 });
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => g.use(i, capped, 10)));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(25);
    const refused = rs.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(25);
    expect(refused.every((r) => r.status === 402 && r.json.error.code === "pool_cap_reached")).toBe(true);
    // 5 credits of the cap are left: an event that fits is taken, the next one that would pass it is not.
    expect((await g.use(0, capped, 5)).status).toBe(200);
    expect((await g.use(1, capped, 1)).json.error.code).toBe("pool_cap_reached");
    // Other websites of the pool are not capped; the capped one's use is on the page.
    expect((await g.use(0, free, 3000)).status).toBe(200);
    expect((await g.admin.get(`/api/groups/${g.groupId}/pool-caps`)).json.caps).toEqual([
      { websiteId: capped, name: g.f.websitesA[0]!.name, monthlyCredits: 255, usedThisMonth: 255 },
    ]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("never caps the website's own credits; insufficient_credits wins when the event cannot be covered at all", async () => {
    const g = await pool();
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 100 });
    const site = g.f.websitesA[0]!.id;
    await g.admin.put(`/api/groups/${g.groupId}/websites/${site}/pool-cap`, { monthlyCredits: 0 });
    await server.deps.database.transaction(async (q) => {
      const { grantCredits } = await import("../../src/server/modules/ledger/index.js");
      await grantCredits(q, { kind: "website", websiteId: site, credits: 50, sourceKey: `t:${crypto.randomUUID()}`, now: new Date() });
    });
    expect((await g.use(0, site, 51)).json.error.code).toBe("pool_cap_reached");
    expect((await g.use(0, site, 151)).json.error.code).toBe("insufficient_credits");
    const own = await g.use(0, site, 50);
    expect(own.json.parts).toEqual([{ source: "website", credits: 50 }]);
    // Clearing the cap lets the pool pay again.
    expect((await g.admin.put(`/api/groups/${g.groupId}/websites/${site}/pool-cap`, { monthlyCredits: null })).json).toEqual({ websiteId: site, monthlyCredits: null, usedThisMonth: 0 });
    expect((await g.use(0, site, 30)).status).toBe(200);
  });

  it("counts the month's use from the ledger when a cap is set, belongs to the website's group, and refuses bad input", async () => {
    const g = await pool();
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 1000 });
    const site = g.f.websitesA[1]!.id;
    expect((await g.use(0, site, 120)).status).toBe(200);
    const capUrl = `/api/groups/${g.groupId}/websites/${site}/pool-cap`;
    expect((await g.admin.put(capUrl, { monthlyCredits: 150 })).json.usedThisMonth).toBe(120);
    expect((await g.use(0, site, 31)).json.error.code).toBe("pool_cap_reached");
    for (const body of [{ monthlyCredits: -1 }, { monthlyCredits: 1.5 }, { monthlyCredits: "9" }, {}, { monthlyCredits: 5, extra: 1 }]) {
      expect((await g.admin.put(capUrl, body)).status).toBe(400);
    }
    expect((await g.admin.put(`/api/groups/${g.groupId}/websites/${g.f.websiteB.id}/pool-cap`, { monthlyCredits: 5 })).status).toBe(404);
    const member = await server.client().login(g.f.member, TEST_PASSWORD);
    expect((await member.put(capUrl, { monthlyCredits: 1000 })).status).toBe(403);
    // Moved to another group, the website leaves its cap behind.
    await fundGroupPool(server.deps.database, g.f.groupB.id, { oneTime: 1000 });
    await server.deps.database.query("update websites set group_id = $2 where id = $1", [site, g.f.groupB.id]);
    expect((await g.use(0, site, 200)).status).toBe(200);
  });

  it("counts a cap's use per calendar month of the server's clock: next month starts at 0, and a cap set then counts from 0", async () => {
    const g = await pool();
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 1000 });
    const site = g.f.websitesA[0]!.id;
    const caps = `/api/groups/${g.groupId}/pool-caps`;
    expect((await g.admin.put(`/api/groups/${g.groupId}/websites/${site}/pool-cap`, { monthlyCredits: 10 })).status).toBe(200);
    expect((await g.use(0, site, 8)).status).toBe(200);
    expect((await g.admin.get(caps)).json.caps.map((c: { usedThisMonth: number }) => c.usedThisMonth)).toEqual([8]);
    const now = new Date();
    server.clock.set(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 0, 0, 1)));
    try {
      // Before, the list and the cap counted the machine's month: 8 of the 10 still used.
      expect((await g.admin.get(caps)).json.caps.map((c: { usedThisMonth: number }) => c.usedThisMonth)).toEqual([0]);
      const reset = await g.admin.put(`/api/groups/${g.groupId}/websites/${site}/pool-cap`, { monthlyCredits: 10 });
      expect(reset.json).toMatchObject({ monthlyCredits: 10, usedThisMonth: 0 });
    } finally {
      server.clock.reset();
    }
  });

  it("counts a debit that was waiting on the pool while the cap was being set: the cap's use is the ledger's", async (ctx) => {
    ctx.skip(!onPostgres, "PostgreSQL only: the pool's grants are held in one connection while the cap and the debit wait in others; PGlite has one connection");
    const g = await pool();
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 1000 });
    const site = g.f.websitesA[0]!.id;
    // Hold the pool's grants, so that setting the cap and a debit of the pool both wait for them, in that order.
    const release = await holdRowLocks(server.deps.database, "select id from credit_grants where group_id = $1 for update", [g.groupId]);
    const setting = g.admin.put(`/api/groups/${g.groupId}/websites/${site}/pool-cap`, { monthlyCredits: 10 });
    await waitForLockWaits(server.deps.database, 1);
    const debiting = g.use(0, site, 8);
    await waitForLockWaits(server.deps.database, 2);
    await release();
    expect((await setting).status).toBe(200);
    expect((await debiting).status).toBe(200);

    const { rows } = await server.deps.database.query<{ drawn: number }>(
      "select coalesce(-sum(l.amount), 0)::int as drawn from ledger_entries l join usage_events e on e.id = l.usage_event_id where e.website_id = $1",
      [site],
    );
    expect(rows[0]!.drawn).toBe(8);
    const caps = (await g.admin.get(`/api/groups/${g.groupId}/pool-caps`)).json.caps;
    expect(caps.map((c: { usedThisMonth: number }) => c.usedThisMonth), "the cap's use this month is the ledger's").toEqual([8]);
    // 8 of the 10 are drawn: 5 more would pass the cap.
    expect((await g.use(0, site, 5)).json.error?.code).toBe("pool_cap_reached");
  });
});
