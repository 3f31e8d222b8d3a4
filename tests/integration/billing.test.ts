import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { buyThroughCheckout, grantCount } from "../support/billing.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, WEBHOOK_SECRET, type TestServer } from "../support/server.js";
import { signWebhookPayload } from "../../src/emulators/stripe/index.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function standardGroup() {
  const f = await createOrgFixture(server.db);
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  return { f, admin, groupId: f.groupA.id };
}
async function enabledGroup() {
  const g = await standardGroup();
  expect((await g.admin.post(`/api/groups/${g.groupId}/billing/enable`)).status).toBe(200);
  return g;
}
async function partnerGroup() {
  const f = await createOrgFixture(server.db, { partnerManaged: true });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).json).toEqual({ enabled: true, customerType: "partner" });
  return { f, admin, groupId: f.groupA.id };
}
const summary = async (g: { admin: { get: (p: string) => Promise<{ json: any }> }; groupId: string }) =>
  (await g.admin.get(`/api/groups/${g.groupId}/billing`)).json;
const stripeApi = (path: string, init: RequestInit = {}) =>
  fetch(`${server.stripe.url}${path}`, { ...init, headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded", ...init.headers } });

describe("enable billing", () => {
  it("starts disabled, then creates exactly one Stripe customer however often it is repeated", async () => {
    const g = await standardGroup();
    const before = await summary(g);
    expect(before).toMatchObject({ enabled: false, customerType: null, credits: { monthly: null, oneTime: null } });
    expect(before.pricing).toEqual({ creditsPerPackage: 1000, minQuantity: 1, maxQuantity: 50, oneTime: { amount: 1000, currency: "usd" }, monthly: { amount: 800, currency: "usd" } });
    const rs = await Promise.all([1, 2, 3].map(() => g.admin.post(`/api/groups/${g.groupId}/billing/enable`)));
    expect(rs.map((r) => r.json)).toEqual(Array(3).fill({ enabled: true, customerType: "standard" }));
    expect((await g.admin.post(`/api/groups/${g.groupId}/billing/enable`)).status).toBe(200);
    const customers = server.stripe.events().filter((e) => e.type === "customer.created" && (e.data.object as { metadata?: Record<string, string> }).metadata?.groupId === g.groupId);
    expect(customers).toHaveLength(1);
    expect((await summary(g)).enabled).toBe(true);
  });

  it("takes no body: an empty one or {} enables, an unknown field or broken JSON is 400 invalid_request and enables nothing", async () => {
    const g = await standardGroup();
    const enable = `/api/groups/${g.groupId}/billing/enable`;
    for (const body of [JSON.stringify({ x: 1 }), "{", "[]"]) {
      const r = await g.admin.request("POST", enable, body);
      expect([r.status, r.json?.error?.code]).toEqual([400, "invalid_request"]);
    }
    expect((await summary(g)).enabled).toBe(false);
    // The page posts {}; an empty body is as good.
    expect((await g.admin.request("POST", enable, "")).json).toEqual({ enabled: true, customerType: "standard" });
    expect((await g.admin.post(enable, {})).status).toBe(200);
    const portal = `/api/groups/${g.groupId}/billing/portal`;
    expect((await g.admin.request("POST", portal, JSON.stringify({ bogus: 1 }))).status).toBe(400);
    expect((await g.admin.request("POST", `/api/groups/${g.groupId}/billing/settings/test-event`, JSON.stringify({ bogus: 1 }))).status).toBe(400);
  });

  it("refuses purchases before billing is enabled", async () => {
    const g = await standardGroup();
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("billing_not_enabled");
  });
});

describe("purchases through Stripe Checkout", () => {
  it.each([0, 51, 1.5, "3", -1, null])("answers 400 for quantity %s and creates nothing", async (quantity) => {
    const g = await enabledGroup();
    const sessionsBefore = server.stripe.events().length;
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from purchases where group_id = $1", [g.groupId]);
    expect(rows[0]!.n).toBe(0);
    expect(server.stripe.events().length).toBe(sessionsBefore);
  });

  it("grants one-time credits once after Pay, and cancelling checkout changes nothing", async () => {
    const g = await enabledGroup();
    const cancelled = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 2 });
    const html = await (await fetch(cancelled.json.url)).text();
    expect(html).toContain("checkout=cancelled");
    expect((await summary(g)).credits.oneTime).toBeNull();

    await buyThroughCheckout(server, g.admin, g.groupId, "one_time", 3);
    expect((await summary(g)).credits.oneTime).toEqual({ total: 3000, used: 0, remaining: 3000 });
    const inv = await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`);
    expect(inv.status).toBe(200);
    expect(inv.json.invoices).toHaveLength(1);
    expect(inv.json.invoices[0].total).toEqual({ amount: 3000, currency: "usd" });
    expect(inv.json.invoices[0].hostedInvoiceUrl).toMatch(/^http/);
    expect(inv.json.months).toEqual([inv.json.invoices[0].paidAt.slice(0, 7)]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("takes each event once when Stripe delivers everything three times, concurrently and shuffled", async () => {
    const g = await enabledGroup();
    const before = server.stripe.events().length;
    await buyThroughCheckout(server, g.admin, g.groupId, "one_time", 1);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const mine = server.stripe.events().slice(before);
    const deliveries = [...mine, ...mine, ...mine].sort(() => Math.random() - 0.5);
    await Promise.all(deliveries.map((e) => server.stripe.redeliver(e.id)));
    const s = await summary(g);
    expect(s.credits.oneTime.total).toBe(1000);
    expect(s.credits.monthly).toMatchObject({ total: 2000, packages: 2, remaining: 2000 });
    expect(await grantCount(server, g.groupId)).toBe(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("rejects a bad signature, a stale timestamp and a tampered body with 400 and changes nothing", async () => {
    const g = await enabledGroup();
    const payload = JSON.stringify({ id: "evt_forged", type: "invoice.paid", data: { object: { id: "in_forged" } } });
    const post = (body: string, sig: string) =>
      fetch(`${server.url}/api/webhooks/stripe`, { method: "POST", body, headers: { "content-type": "application/json", "stripe-signature": sig } });
    expect((await post(payload, "t=1,v1=deadbeef")).status).toBe(400);
    expect((await post(payload, signWebhookPayload({ payload, secret: "whsec_wrong" }))).status).toBe(400);
    const stale = signWebhookPayload({ payload, secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await post(payload, stale)).status).toBe(400);
    const good = signWebhookPayload({ payload, secret: WEBHOOK_SECRET });
    expect((await post(payload.replace("in_forged", "in_other"), good)).status).toBe(400);
    expect((await fetch(`${server.url}/api/webhooks/stripe`, { method: "POST", body: payload })).status).toBe(400);
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from webhook_events where id = 'evt_forged'");
    expect(rows[0]!.n).toBe(0);
    expect(await grantCount(server, g.groupId)).toBe(0);
  });

  it("renews a monthly plan: a new period's grant, and the old remainder expired", async () => {
    const g = await enabledGroup();
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 3);
    const first = (await summary(g)).credits.monthly;
    expect(first).toMatchObject({ total: 3000, remaining: 3000, packages: 3 });
    // Spend some of this period's credits, then move Stripe to the next period.
    const key = (await g.admin.post(`/api/orgs/${g.f.org.id}/api-keys`, { name: "t" })).json.key as string;
    const usage = await fetch(`${server.url}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ websiteId: g.f.websitesA[0]!.id, credits: 1000, idempotencyKey: "spend-1" }),
    });
    expect(usage.status).toBe(200);
    const { rows: subs } = await server.deps.database.query<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [g.groupId]);
    await server.stripe.advanceSubscription(subs[0]!.s);
    const renewed = await eventually(async () => {
      const m = (await summary(g)).credits.monthly;
      return m && m.periodStart !== first.periodStart ? m : null;
    });
    expect(renewed).toMatchObject({ total: 3000, remaining: 3000, used: 0, packages: 3 });
    expect(new Date(renewed.periodStart).getTime()).toBe(new Date(first.periodEnd).getTime());
    const { rows } = await server.deps.database.query<{ amount: number }>(
      `select l.amount from ledger_entries l join credit_grants g on g.id = l.grant_id where g.group_id = $1 and l.kind = 'expiry'`,
      [g.groupId],
    );
    expect(rows.map((r) => Number(r.amount))).toEqual([-2000]);
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`)).json.invoices).toHaveLength(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("raises the plan's quantity when monthly packages are bought again, granting the added credits at once", async () => {
    const g = await enabledGroup();
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 3 });
    expect(r.json).toMatchObject({ status: "completed", credits: 3000 });
    expect((await summary(g)).credits.monthly).toMatchObject({ total: 5000, packages: 5 });
    const { rows } = await server.deps.database.query<{ quantity: number; s: string }>("select quantity, stripe_subscription_id as s from plans where group_id = $1", [g.groupId]);
    expect(rows[0]!.quantity).toBe(5);
    const sub = await (await stripeApi(`/v1/subscriptions/${rows[0]!.s}`)).json();
    expect(sub.items.data[0].quantity).toBe(5);
  });

  it("does not renew a cancelled plan", async () => {
    const g = await enabledGroup();
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 1);
    const { rows } = await server.deps.database.query<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [g.groupId]);
    const subId = rows[0]!.s;
    expect((await stripeApi(`/v1/subscriptions/${subId}`, { method: "POST", body: "cancel_at_period_end=true" })).status).toBe(200);
    await server.stripe.advanceSubscription(subId);
    await eventually(async () => {
      const r = await server.deps.database.query<{ status: string }>("select status from plans where group_id = $1", [g.groupId]);
      return r.rows[0]!.status === "canceled";
    });
    const s = await summary(g);
    expect(s.credits.monthly).toBeNull();
    expect(await grantCount(server, g.groupId)).toBe(1);
  });
});

describe("cancellation", () => {
  it("ends the plan and its month's credits when the subscription is cancelled at once", async () => {
    const g = await enabledGroup();
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { rows } = await server.deps.database.query<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [g.groupId]);
    expect((await stripeApi(`/v1/subscriptions/${rows[0]!.s}`, { method: "DELETE" })).status).toBe(200);
    await eventually(async () => (await summary(g)).credits.monthly === null);
    const plan = await server.deps.database.query<{ status: string }>("select status from plans where group_id = $1", [g.groupId]);
    expect(plan.rows[0]!.status).toBe("canceled");
    await expectLedgerConsistent(server.deps.database);
  });
});

describe("partner-managed organizations", () => {
  it("charges the partner and grants at once; a retry with the same key never charges twice", async () => {
    const g = await partnerGroup();
    const headers = { "idempotency-key": "buy-1" };
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 4 }, headers);
    expect(r.json).toMatchObject({ status: "completed", credits: 4000 });
    const again = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 4 }, headers);
    expect(again.json).toEqual(r.json);
    expect(server.partner.charges().filter((c) => c.accountId === g.f.org.partnerAccountId)).toHaveLength(1);
    expect((await summary(g)).credits.oneTime).toEqual({ total: 4000, used: 0, remaining: 4000 });
    expect((await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 4 }, headers)).status).toBe(409);
    const s = await summary(g);
    expect(s.partnerPortalUrl).toContain(g.f.org.partnerAccountId);
    const inv = await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`);
    expect(inv.json.invoices).toHaveLength(1);
  });

  it("shows each group only the partner charges made for it, although the organization shares one account", async () => {
    const g = await partnerGroup();
    expect((await g.admin.post(`/api/groups/${g.f.groupB.id}/billing/enable`)).status).toBe(200);
    await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
    await g.admin.post(`/api/groups/${g.f.groupB.id}/billing/purchases`, { type: "one_time", quantity: 2 });
    const a = await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`);
    const b = await g.admin.get(`/api/groups/${g.f.groupB.id}/billing/invoices`);
    expect(a.json.invoices.map((i: { total: { amount: number } }) => i.total.amount)).toEqual([1000]);
    expect(b.json.invoices.map((i: { total: { amount: number } }) => i.total.amount)).toEqual([2000]);
  });

  it("grants nothing and says why when the partner declines or does not answer", async () => {
    const g = await partnerGroup();
    server.partner.setFault("decline");
    try {
      const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
      expect(r.status).toBe(402);
      expect(r.json.error.code).toBe("payment_failed");
      expect(r.json.error.message).toMatch(/declined/i);
      server.partner.setFault("hang");
      const started = Date.now();
      const t = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 }, { "idempotency-key": "slow" });
      expect(Date.now() - started).toBeLessThan(5000);
      // Sent, no answer: the outcome is unknown, so the purchase is pending (never "failed" while the partner may have charged).
      expect(t.status).toBe(202);
      expect(t.json).toMatchObject({ status: "pending" });
    } finally {
      server.partner.setFault("none");
    }
    expect(await grantCount(server, g.groupId)).toBe(0);
    // The same key once the partner answers again: charged once, granted once.
    const ok = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 }, { "idempotency-key": "slow" });
    expect(ok.json).toMatchObject({ status: "completed", credits: 1000 });
    expect(await grantCount(server, g.groupId)).toBe(1);
  });

  it("renews a monthly partner plan at the period start, once across concurrent sweepers, and grants nothing when the renewal is declined", async () => {
    const g = await partnerGroup();
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 2 });
    expect(r.json.status).toBe("completed");
    const first = (await summary(g)).credits.monthly;
    expect(first).toMatchObject({ total: 2000, packages: 2 });
    // Time passes: the plan's period is over.
    const afterPeriod = new Date(new Date(first.periodEnd).getTime() + 1000);
    const renewed = await Promise.all([1, 2, 3].map(() => server.billing.renewDuePartnerPlans(afterPeriod)));
    expect(renewed.reduce((a: number, b: number) => a + b, 0)).toBe(1);
    const { rows } = await server.deps.database.query<{ period_start: Date; granted: number }>(
      "select period_start, granted from credit_grants where group_id = $1 and kind = 'monthly' order by id",
      [g.groupId],
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]!.period_start.toISOString()).toBe(new Date(first.periodEnd).toISOString());
    expect(server.partner.charges().filter((c) => c.accountId === g.f.org.partnerAccountId)).toHaveLength(2);
    await expectLedgerConsistent(server.deps.database);

    // The next period's charge is declined: the plan is past due and grants nothing more.
    server.partner.setFault("decline");
    try {
      const later = new Date(new Date(rows[1]!.period_start).getTime() + 40 * 86400_000);
      await server.billing.renewDuePartnerPlans(later);
    } finally {
      server.partner.setFault("none");
    }
    const plan = await server.deps.database.query<{ status: string }>("select status from plans where group_id = $1", [g.groupId]);
    expect(plan.rows[0]!.status).toBe("past_due");
    expect(await grantCount(server, g.groupId)).toBe(2);
  });
});

describe("outages", () => {
  it("answers invoices with 503 within 5 s while the billing summary still works", async () => {
    const g = await enabledGroup();
    server.stripe.setFault("hang");
    try {
      const started = Date.now();
      const r = await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe("billing_unavailable");
      const s = await g.admin.get(`/api/groups/${g.groupId}/billing`);
      expect(s.status).toBe(200);
      const p = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
      expect(p.status).toBe(503);
    } finally {
      server.stripe.setFault("none");
    }
    expect(await grantCount(server, g.groupId)).toBe(0);
  });

  it("closes a Checkout purchase whose session was never created, so it is not pending for ever", async () => {
    const g = await enabledGroup();
    server.stripe.setFault("hang");
    let p;
    try {
      p = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 }, { "idempotency-key": "never-started" });
    } finally {
      server.stripe.setFault("none");
    }
    expect(p.status).toBe(503);
    const { rows } = await server.deps.database.query<{ id: string; created_at: Date }>("select id, created_at from purchases where group_id = $1", [g.groupId]);
    const status = async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${rows[0]!.id}`)).json.status;
    expect(await status()).toBe("pending");
    // Within ten minutes a retry with the same key may still get its Checkout; after that the purchase is closed.
    server.clock.set(new Date(rows[0]!.created_at.getTime() + 9 * 60_000));
    try {
      await server.billing.settlePendingPurchases();
      expect(await status()).toBe("pending");
      server.clock.set(new Date(rows[0]!.created_at.getTime() + 11 * 60_000));
      await server.billing.settlePendingPurchases();
      expect(await status()).toBe("expired");
    } finally {
      server.clock.reset();
    }
    const retry = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 }, { "idempotency-key": "never-started" });
    expect([retry.status, retry.json.error?.code]).toEqual([409, "conflict"]);
    expect(await grantCount(server, g.groupId)).toBe(0);
  });
});

describe("access", () => {
  it("lets only admins of the group see or change its billing", async () => {
    const { f } = await enabledGroup();
    const other = await createOrgFixture(server.db);
    const cases: [string, number][] = [
      [f.member, 403],
      [f.groupAdmin, 200],
      [other.orgAdmin, 404],
    ];
    for (const [email, status] of cases) {
      const c = await server.client().login(email, TEST_PASSWORD);
      expect((await c.get(`/api/groups/${f.groupA.id}/billing`)).status).toBe(status);
      expect((await c.get(`/api/groups/${f.groupA.id}/billing/invoices`)).status).toBe(status);
    }
    const groupAdmin = await server.client().login(f.groupAdmin, TEST_PASSWORD);
    expect((await groupAdmin.post(`/api/groups/${f.groupB.id}/billing/enable`)).status).toBe(403);
    expect((await server.client().get(`/api/groups/${f.groupA.id}/billing`)).status).toBe(401);
  });
});

