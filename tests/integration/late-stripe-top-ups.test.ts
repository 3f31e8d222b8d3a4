import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, grantCount, topUpsOf, webhookHandled } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, WEBHOOK_SECRET, type TestServer } from "../support/server.js";
import { createStripeGateway } from "../../src/server/integrations/stripe/index.js";
import type { PurchaseRow } from "../../src/server/modules/billing/billing-repo.js";
import { ownInvoiceInput } from "../../src/server/modules/billing/own-invoice.js";

// Stripe auto top-ups whose outcome was unknown, retried after the admin turned auto top-up off:
// the retry never charges; what Stripe ends up holding for the top-up is what the group is granted.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

interface StripeInvoice {
  id: string;
  status: string;
  amount_paid: number;
  metadata: Record<string, string>;
}
const stripeApi = async <T,>(path: string, body?: Record<string, string>) => {
  const res = await fetch(`${server.stripe.url}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  });
  return { status: res.status, json: (await res.json()) as T };
};

/** A standard group with 1,000 credits bought through Checkout (its card saved), auto top-up at 500. */
async function lowPoolWithAutoTopUp() {
  const f = await createOrgFixture(server.db, { partnerManaged: false, websites: 1 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, "one_time", 1);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  const key = await createApiKeyFor(server.deps.database, f.org.id);
  const api = new Client(server.url, { authorization: `Bearer ${key}` });
  const settings = `/api/groups/${groupId}/billing/settings`;
  expect((await admin.put(settings, { autoTopUp: { threshold: 500, packages: 1, maxPerMonth: 5 } })).status).toBe(200);
  const topUp = () => topUpsOf(server, groupId);
  /**
   * 1,000 -> 400 while Stripe answers 500 (an error of its own: a request it may or may not have
   * carried out), so the top-up's outcome is unknown; then the admin turns auto top-up off.
   * Resolves once the first attempt is over and waits for its retry.
   */
  const crossWhileStripeFails = async () => {
    server.stripe.setFault("error");
    try {
      const r = await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 600, idempotencyKey: crypto.randomUUID() });
      expect(r.status).toBe(200);
      // The attempt is over when its lease (30 s) was cut to the retry wait (5 s).
      await eventually(async () => {
        const t = (await topUp())[0];
        return t?.status === "pending" && t.attempts === 1 && t.retry_in_ms !== null && t.retry_in_ms < 10_000;
      });
      expect((await admin.put(settings, { autoTopUp: null })).json.autoTopUp).toBeNull();
    } finally {
      server.stripe.setFault("none");
    }
    return (await topUp())[0]!;
  };
  const invoicesAtStripe = async () => (await stripeApi<{ data: StripeInvoice[] }>(`/v1/invoices?customer=${customer}&limit=100`)).json.data;
  const poolAvailable = async () => (await admin.get(settings)).json.poolAvailable as number;
  return { f, admin, groupId, customer, settings, topUp, crossWhileStripeFails, invoicesAtStripe, poolAvailable };
}
type G = Awaited<ReturnType<typeof lowPoolWithAutoTopUp>>;

/**
 * What the first attempt's requests did at Stripe, landing there although their answers were lost:
 * the top-up's invoice, made with its key exactly as the top-up makes it (so that it is the top-up's
 * own), with its item, then (up to `stage`) finalized and paid.
 */
async function invoiceLandedAtStripe(g: G, t: { id: string; purchase_id: string | null; amount: number | null }, { stage }: { stage: "draft" | "open" | "paid" }) {
  const purchase = (await q<PurchaseRow>("select * from purchases where id = $1", [t.purchase_id])).rows[0]!;
  // The product's own gateway, as the first attempt sent it: the key's request, answered to nobody.
  const gateway = createStripeGateway({ secretKey: "sk_test_x", apiBase: server.stripe.url, webhookSecret: WEBHOOK_SECRET });
  const draft = await gateway.createInvoiceDraft(ownInvoiceInput(server.deps, purchase, g.customer));
  const item = await stripeApi("/v1/invoiceitems", {
    customer: g.customer,
    invoice: draft.id,
    currency: "usd",
    unit_amount_decimal: String(t.amount),
    quantity: "1",
    description: "One-time credits · 1 package (1,000 credits) · auto top-up",
  });
  expect(item.status).toBe(200);
  if (stage !== "draft") expect((await stripeApi<StripeInvoice>(`/v1/invoices/${draft.id}/finalize`, {})).json.status).toBe("open");
  if (stage === "paid") expect((await stripeApi<StripeInvoice>(`/v1/invoices/${draft.id}/pay`, {})).json.status).toBe("paid");
  return draft.id;
}

/** The retry, minutes later by the server's clock (past the settle delay), until the top-up is closed. */
async function retriedLater(g: G) {
  server.clock.set(Date.now() + 5 * 60_000);
  try {
    await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);
  } finally {
    server.clock.reset();
  }
}

const topUpInvoices = (invoices: StripeInvoice[]) => invoices.filter((i) => i.metadata.autoTopUpId);
const paidTotal = (invoices: StripeInvoice[]) => invoices.filter((i) => i.status === "paid").reduce((sum, i) => sum + i.amount_paid, 0);
const grantedTotal = async (g: G) =>
  (await q<{ n: number }>("select coalesce(sum(amount), 0)::int as n from purchases where group_id = $1 and status = 'completed'", [g.groupId])).rows[0]!.n;

/**
 * Billed == granted with one top-up invoice at Stripe: `charged`, it was paid and granted once (the pool
 * at 1,400); otherwise nothing was paid for it or granted (400).
 */
async function expectOneTopUpInvoice(g: G, { charged }: { charged: boolean }) {
  const invoices = await g.invoicesAtStripe();
  expect(topUpInvoices(invoices)).toHaveLength(1);
  expect(paidTotal(invoices)).toBe(await grantedTotal(g));
  expect(paidTotal(invoices)).toBe((charged ? 2 : 1) * server.config.PRICE_ONE_TIME);
  expect(await grantCount(server, g.groupId)).toBe(charged ? 2 : 1);
  expect(await g.poolAvailable()).toBe(charged ? 1400 : 400);
  await expectLedgerConsistent(server.deps.database);
}

describe("a Stripe auto top-up whose outcome was unknown, retried after auto top-up was turned off", () => {
  it("the earlier try had paid its invoice: the retry only looks it up, grants it once and creates no invoice", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    await invoiceLandedAtStripe(g, t, { stage: "paid" });
    await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);

    expect(await g.topUp()).toMatchObject([{ status: "succeeded", attempts: 2, purchase_status: "completed" }]);
    expect(await g.poolAvailable()).toBe(1400);
    const invoices = await g.invoicesAtStripe();
    expect(topUpInvoices(invoices)).toHaveLength(1); // the retry sent no invoice of its own
    // Billed == granted: the customer's paid invoices (Checkout's and the top-up's) are the completed purchases.
    expect(paidTotal(invoices)).toBe(await grantedTotal(g));
    expect(paidTotal(invoices)).toBe(2 * server.config.PRICE_ONE_TIME);
    expect(await grantCount(server, g.groupId)).toBe(2);
    // Later rounds and the invoice's webhook grant nothing more.
    await retriedLater(g);
    expect(await grantCount(server, g.groupId)).toBe(2);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: null, poolAvailable: 1400 });
    await expectLedgerConsistent(server.deps.database);
  });

  it("nothing reached Stripe: the retry creates no invoice and charges nothing, and the top-up is closed as not charged", async () => {
    const g = await lowPoolWithAutoTopUp();
    await g.crossWhileStripeFails();
    await retriedLater(g);

    expect(await g.topUp()).toMatchObject([{ status: "failed", attempts: 2, purchase_status: "failed" }]);
    const invoices = await g.invoicesAtStripe();
    expect(topUpInvoices(invoices)).toHaveLength(0);
    expect(paidTotal(invoices)).toBe(server.config.PRICE_ONE_TIME); // Checkout's only
    expect(await g.poolAvailable()).toBe(400);
    expect(await grantCount(server, g.groupId)).toBe(1);
    // Turned off by the admin, not by a failure: no reason to show, no failure alert.
    expect((await g.admin.get(g.settings)).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: null });
    const alerts = ((await g.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).json.alerts as { type: string }[]).map((a) => a.type);
    expect(alerts).not.toContain("group.auto_top_up.failed");
    await expectLedgerConsistent(server.deps.database);
  });

  it("the earlier try's invoice was created but never paid: closing the top-up voids it, so it can no longer be paid", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "open" });
    await retriedLater(g);

    expect(await g.topUp()).toMatchObject([{ status: "failed", attempts: 2, purchase_status: "failed" }]);
    const left = await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}`);
    expect(left.json.status).toBe("void");
    // The customer's hosted page (or anyone) paying it is refused: nothing is billed that nothing grants.
    const pay = await stripeApi<{ error: { message: string } }>(`/v1/invoices/${invoiceId}/pay`, {});
    expect(pay.status).toBe(400);
    expect(pay.json.error.message).toMatch(/voided/);
    await expectOneTopUpInvoice(g, { charged: false });
  });

  it("the earlier try's invoice was created but never finalized: closing the top-up deletes the draft, so nobody can finalize and collect it", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "draft" });
    await retriedLater(g);

    expect(await g.topUp()).toMatchObject([{ status: "failed", attempts: 2, purchase_status: "failed" }]);
    expect((await stripeApi(`/v1/invoices/${invoiceId}`)).status).toBe(404);
    expect((await stripeApi(`/v1/invoices/${invoiceId}/finalize`, {})).status).toBe(404);
    const invoices = await g.invoicesAtStripe();
    expect(topUpInvoices(invoices)).toHaveLength(0);
    expect(paidTotal(invoices)).toBe(await grantedTotal(g));
    expect(await g.poolAvailable()).toBe(400);
    expect(await grantCount(server, g.groupId)).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });

  it("Stripe refusing the void of the earlier try's invoice: the top-up stays open, its invoice payable; paid, it is granted once", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "open" });
    // Every other request works: the retry finds nothing paid and lists the open invoice; only its void fails.
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/invoices\/[^/]+\/void$/, mode: "error" });
    server.clock.set(Date.now() + 5 * 60_000);
    try {
      await eventually(async () => ((await g.topUp())[0]?.attempts ?? 0) >= 3, 20_000);
      // Not closed as not charged while its invoice can still be paid.
      expect(await g.topUp()).toMatchObject([{ status: "pending", purchase_status: "pending" }]);
      expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}`)).json.status).toBe("open");
      expect(await g.poolAvailable()).toBe(400);
      // The customer pays it on its hosted page meanwhile: the top-up's payment, granted once.
      expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}/pay`, {})).json.status).toBe("paid");
      await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);
    } finally {
      server.stripe.setRequestFault(null);
      server.clock.reset();
    }
    expect(await g.topUp()).toMatchObject([{ status: "succeeded", purchase_status: "completed" }]);
    expect(await g.poolAvailable()).toBe(1400);
    await webhookHandled(server, "invoice.paid", invoiceId); // its webhook grants nothing more
    await retriedLater(g);
    await expectOneTopUpInvoice(g, { charged: true });
  });

  it("Stripe failing the void of the earlier try's invoice with a 500 it saved under the void's key: once Stripe works again the void goes through and the top-up is closed as not charged", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "open" });
    // Stripe saves each failed void's 500 under its key and replays it to every retry with that key.
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/invoices\/[^/]+\/void$/, mode: "error-saved" });
    server.clock.set(Date.now() + 5 * 60_000);
    try {
      try {
        await eventually(async () => ((await g.topUp())[0]?.attempts ?? 0) >= 3, 20_000);
        expect(await g.topUp()).toMatchObject([{ status: "pending", purchase_status: "pending" }]);
      } finally {
        server.stripe.setRequestFault(null);
      }
      await eventually(async () => {
        const [left] = await g.topUp();
        if (left?.status === "pending") throw new Error(`the top-up is pending after ${left.attempts} attempts`);
        return true;
      }, 20_000);
    } finally {
      server.clock.reset();
    }
    expect(await g.topUp()).toMatchObject([{ status: "failed", purchase_status: "failed" }]);
    expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}`)).json.status).toBe("void");
    await expectOneTopUpInvoice(g, { charged: false });
  });

  for (const [moment, held] of [
    ["as its void was sent", { method: "POST", path: /^\/v1\/invoices\/[^/]+\/void$/ }],
    ["as the void looked it up", { method: "GET", path: /^\/v1\/invoices\/in_[^/]+$/ }],
  ] as const) {
    it(`the earlier try's invoice paid by the customer ${moment}: the void finds it paid, and the top-up is granted once`, async () => {
      const g = await lowPoolWithAutoTopUp();
      const t = await g.crossWhileStripeFails();
      const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "open" });
      // The retry listed the invoice as unpaid; its request is held at Stripe while the customer pays.
      server.stripe.setRequestFault({ ...held, mode: "hold" });
      server.clock.set(Date.now() + 5 * 60_000);
      try {
        await eventually(() => Promise.resolve(server.stripe.heldRequests() > 0), 20_000);
        expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}/pay`, {})).json.status).toBe("paid");
        server.stripe.setRequestFault(null);
        await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);
      } finally {
        server.stripe.setRequestFault(null);
        server.clock.reset();
      }
      expect(await g.topUp()).toMatchObject([{ status: "succeeded", purchase_status: "completed" }]);
      expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}`)).json.status).toBe("paid");
      expect(await g.poolAvailable()).toBe(1400);
      await webhookHandled(server, "invoice.paid", invoiceId);
      await retriedLater(g);
      await expectOneTopUpInvoice(g, { charged: true });
    });
  }

  it("Stripe down when the top-up would close: it stays open until its invoice is voided", async () => {
    const g = await lowPoolWithAutoTopUp();
    const t = await g.crossWhileStripeFails();
    const invoiceId = await invoiceLandedAtStripe(g, t, { stage: "open" });
    server.stripe.setFault("error");
    server.clock.set(Date.now() + 5 * 60_000);
    try {
      await eventually(async () => ((await g.topUp())[0]?.attempts ?? 0) >= 3, 20_000);
      expect(await g.topUp()).toMatchObject([{ status: "pending", purchase_status: "pending" }]);
    } finally {
      server.stripe.setFault("none");
      server.clock.reset();
    }
    await retriedLater(g);
    expect(await g.topUp()).toMatchObject([{ status: "failed", purchase_status: "failed" }]);
    expect((await stripeApi<StripeInvoice>(`/v1/invoices/${invoiceId}`)).json.status).toBe("void");
    expect(await grantCount(server, g.groupId)).toBe(1);
  });
});
