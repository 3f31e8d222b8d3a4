import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import type { ServerProcess } from "../support/process.js";
import { eventually, spawnPeer, startTestServer, type TestServer } from "../support/server.js";
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

async function group(partner: boolean) {
  const f = await createOrgFixture(server.db, { partnerManaged: partner, websites: 10 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).status).toBe(200);
  const key = await createApiKeyFor(server.deps.database, f.org.id);
  const apis = (second ? [server.url, second.url] : [server.url]).map((u) => new Client(u, { authorization: `Bearer ${key}` }));
  const groupId = f.groupA.id;
  /** `n` concurrent events of `credits` each, spread over the processes and websites. */
  const drain = async (n: number, credits: number) => {
    const rs = await Promise.all(
      Array.from({ length: n }, (_, i) => apis[i % apis.length]!.post("/api/v1/usage", { websiteId: f.websitesA[i % 10]!.id, credits, idempotencyKey: crypto.randomUUID() })),
    );
    expect(rs.every((r) => r.status === 200)).toBe(true);
  };
  const alerts = async () => ((await admin.get(`/api/groups/${groupId}/billing/alerts`)).json.alerts as { type: string }[]).map((a) => a.type).reverse();
  const count = async (type: string) => (await alerts()).filter((t) => t === type).length;
  const settings = `/api/groups/${groupId}/billing/settings`;
  return { f, admin, groupId, drain, alerts, count, settings };
}

async function topUpPurchases(groupId: string) {
  const { rows } = await server.deps.database.query<{ status: string; n: number }>(
    "select status, count(*)::int as n from purchases where group_id = $1 and idempotency_key like 'auto-top-up:%' group by status",
    [groupId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

describe("auto top-up", () => {
  it("under storms of crossings buys exactly once per crossing and never past the monthly limit (partner)", async () => {
    const g = await group(true);
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 600 });
    // The low-balance alert at the same threshold counts the crossings.
    const saved = await g.admin.put(g.settings, { lowBalanceThreshold: 500, alertWebhookUrl: receiver.url, autoTopUp: { threshold: 500, packages: 1, maxPerMonth: 2 } });
    expect(saved.json.autoTopUp).toEqual({ threshold: 500, packages: 1, maxPerMonth: 2 });

    await g.drain(100, 2); // 600 -> 400: crossing 1
    await eventually(async () => (await g.count("group.auto_top_up.succeeded")) === 1);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ poolAvailable: 1400, poolLow: false });
    await g.drain(100, 10); // 1400 -> 400: crossing 2
    await eventually(async () => (await g.count("group.auto_top_up.succeeded")) === 2);
    await g.drain(100, 10); // 1400 -> 400: crossing 3, over the monthly limit
    await eventually(async () => (await g.count("group.credits.low")) === 3);

    const crossings = await g.count("group.credits.low");
    expect(crossings).toBe(3);
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 2 });
    const charges = server.partner.charges().filter((c) => c.description.endsWith("· auto top-up") && c.accountId === g.f.org.partnerAccountId);
    expect(charges).toHaveLength(2);
    const { rows: grants } = await server.deps.database.query<{ n: number }>(
      "select count(*)::int as n from credit_grants where group_id = $1 and source_key like 'purchase:%'",
      [g.groupId],
    );
    expect(grants[0]!.n).toBe(2); // charges == grants
    expect((await g.admin.get(g.settings)).json).toMatchObject({ poolAvailable: 400, poolLow: true, autoTopUp: { maxPerMonth: 2 } });
    // The history has each top-up; the webhook got each success.
    const history = (await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`)).json.invoices as { description: string }[];
    expect(history.filter((i) => i.description === "One-time credits · 1 package (1,000 credits) · auto top-up")).toHaveLength(2);
    await eventually(() => Promise.resolve(receiver.received.filter((r) => r.json.data.groupId === g.groupId && r.json.type === "group.auto_top_up.succeeded").length === 2));
    await expectLedgerConsistent(server.deps.database);
  });

  it("a declined card turns auto top-up off and says why; its invoice paid later grants once; saving it again buys on the saved card, in the history (standard)", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "one_time", 1); // 1,000 credits, and the card saved at Checkout
    const { rows } = await server.deps.database.query<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId]);
    await server.stripe.declineNextCharges(rows[0]!.c, 1);
    await g.admin.put(g.settings, { autoTopUp: { threshold: 500, packages: 2, maxPerMonth: 3 } });

    await g.drain(60, 10); // 1000 -> 400
    await eventually(async () => (await g.count("group.auto_top_up.failed")) === 1);
    const off = (await g.admin.get(g.settings)).json;
    expect(off.autoTopUp).toBeNull();
    expect(off.autoTopUpDisabledReason).toMatch(/declined/i);
    expect(off.poolAvailable).toBe(400);
    expect(await topUpPurchases(g.groupId)).toEqual({ failed: 1 });

    // The declined invoice is still open at Stripe; paid later (its hosted page, or Stripe's retry),
    // it is the purchase's own payment: its 2,000 credits are granted once (before, never).
    const stripeApi = (path: string, init: RequestInit = {}) =>
      fetch(`${server.stripe.url}${path}`, { ...init, headers: { authorization: "Bearer sk_test_x" } }).then((r) => r.json() as Promise<{ data?: { id: string; status: string }[]; status?: string }>);
    const open = (await stripeApi(`/v1/invoices?customer=${rows[0]!.c}&status=open`)).data!;
    expect(open).toHaveLength(1);
    expect((await stripeApi(`/v1/invoices/${open[0]!.id}/pay`, { method: "POST" })).status).toBe("paid");
    await eventually(async () => (await g.admin.get(g.settings)).json.poolAvailable === 2400);
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 1 });
    expect((await g.admin.get(g.settings)).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: expect.stringMatching(/declined/i) });
    await g.drain(200, 10); // 2400 -> 400: below the threshold again, auto top-up still off

    // Turned on again while the pool is below: one top-up at once, charged to the saved card. The
    // one paid late was bought this month too, so a limit of 2 leaves room for this one only.
    await g.admin.put(g.settings, { autoTopUp: { threshold: 500, packages: 2, maxPerMonth: 2 } });
    await eventually(async () => (await g.count("group.auto_top_up.succeeded")) === 1);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ poolAvailable: 2400, autoTopUpDisabledReason: null, autoTopUp: { packages: 2 } });
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 2 });
    // Below the threshold again: the month's limit is reached (a top-up starts in the debit's own
    // transaction, so none has started by the time the debits are answered).
    await g.drain(200, 10); // 2400 -> 400
    const { rows: started } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from auto_top_ups where group_id = $1", [g.groupId]);
    expect(started[0]!.n).toBe(2);
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 2 });
    const history = (await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`)).json.invoices as { description: string; total: { amount: number } }[];
    expect(history.find((i) => i.description.endsWith("· auto top-up"))).toMatchObject({ total: { amount: 2000 } });
    await expectLedgerConsistent(server.deps.database);
  });

  it("a declined top-up's invoice paid later while its webhook is lost is read back by the settling loop and granted once", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "one_time", 1);
    const { rows } = await server.deps.database.query<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId]);
    await server.stripe.declineNextCharges(rows[0]!.c, 1);
    await g.admin.put(g.settings, { autoTopUp: { threshold: 500, packages: 2, maxPerMonth: 3 } });
    await g.drain(6, 100); // 1000 -> 400
    await eventually(async () => (await topUpPurchases(g.groupId)).failed === 1);
    const { rows: inv } = await server.deps.database.query<{ i: string }>("select stripe_invoice_id as i from purchases where group_id = $1 and status = 'failed'", [g.groupId]);
    server.stripe.setWebhookUrl(null);
    try {
      const paid = await fetch(`${server.stripe.url}/v1/invoices/${inv[0]!.i}/pay`, { method: "POST", headers: { authorization: "Bearer sk_test_x" } }).then((r) => r.json() as Promise<{ status: string }>);
      expect(paid.status).toBe("paid");
    } finally {
      server.stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
    }
    expect((await g.admin.get(g.settings)).json.poolAvailable).toBe(400);
    await server.billing.settlePendingPurchases();
    await server.billing.settlePendingPurchases();
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 1 });
    expect((await g.admin.get(g.settings)).json.poolAvailable).toBe(2400);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a partner top-up answered late stays pending while the purchases' settling loop runs, then is charged and granted once", async () => {
    const g = await group(true);
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 600 });
    server.partner.setFault("delay", { delayMs: 4000 });
    try {
      await g.admin.put(g.settings, { autoTopUp: { threshold: 500, packages: 1, maxPerMonth: 5 } });
      await g.drain(1, 200);
      await eventually(async () => (await topUpPurchases(g.groupId)).pending === 1);
      // Minutes later by the server's clock the purchases' loop runs; the top-up is not its to close.
      server.clock.set(new Date(Date.now() + 5 * 60_000));
      await server.billing.settlePendingPurchases();
      expect(await topUpPurchases(g.groupId)).toEqual({ pending: 1 });
    } finally {
      server.partner.setFault("none");
      server.clock.reset();
    }
    await eventually(async () => (await topUpPurchases(g.groupId)).completed === 1, 20_000);
    expect(await topUpPurchases(g.groupId)).toEqual({ completed: 1 });
    expect(server.partner.charges().filter((c) => c.accountId === g.f.org.partnerAccountId)).toHaveLength(1);
    await expectLedgerConsistent(server.deps.database);
  });
});
