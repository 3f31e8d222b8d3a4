import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, grantCount, holdStripeEvents, payOnHostedCheckout, postStripeEvent, refundAmountsSince, settleAt, webhookHandled } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// Issue 10's four ways of losing money, reproduced as an attacker and a careless user would.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function group(partnerManaged: boolean) {
  const f = await createOrgFixture(server.db, { partnerManaged });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).status).toBe(200);
  return { f, admin, groupId: f.groupA.id };
}
type G = Awaited<ReturnType<typeof group>>;
const buy = (g: G, type: "one_time" | "monthly", quantity: number, key?: string, extra: Record<string, unknown> = {}) =>
  g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type, quantity, ...extra }, key ? { "idempotency-key": key } : {});
const summary = async (g: G) => (await g.admin.get(`/api/groups/${g.groupId}/billing`)).json;
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripeForm = (path: string, body: Record<string, string>) =>
  fetch(`${server.stripe.url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body).toString(),
  }).then((r) => r.json() as Promise<{ id: string; url: string }>);
const chargesOf = (g: G) => server.partner.charges().filter((c) => c.accountId === g.f.org.partnerAccountId);
/** The partner renewals due at `at`, while the partner answers with `fault`. */
async function renewWhilePartner(at: Date, ...fault: Parameters<TestServer["partner"]["setFault"]>) {
  server.partner.setFault(...fault);
  try {
    await server.billing.renewDuePartnerPlans(at);
  } finally {
    server.partner.setFault("none");
  }
}
/** Raise the plan by one package while Stripe does not answer: it is pending (202), for the settling loop to charge. */
async function raiseUnanswered(g: G) {
  server.stripe.setFault("hang");
  try {
    const r = await buy(g, "monthly", 1);
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    return r;
  } finally {
    server.stripe.setFault("none");
  }
}
/** Monthly packages granted for the plan's current period. */
async function grantedPackages(groupId: string) {
  const { rows } = await q<{ n: number }>(
    "select coalesce(sum(g.packages), 0)::int as n from credit_grants g join plans p on p.group_id = g.group_id where g.group_id = $1 and g.kind = 'monthly' and g.period_start = p.current_period_start and g.expired_at is null",
    [groupId],
  );
  return rows[0]!.n;
}

describe("concurrent plan raises are billed exactly", () => {
  it("partner: ten raises at once charge ten times, grant ten times, and the plan holds every package", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 5)).json.status).toBe("completed");
    const rs = await Promise.all(Array.from({ length: 10 }, () => buy(g, "monthly", 3)));
    expect(rs.map((r) => r.status)).toEqual(Array(10).fill(200));
    const plan = (await q<{ quantity: number }>("select quantity from plans where group_id = $1", [g.groupId])).rows[0]!;
    expect(plan.quantity).toBe(35);
    expect(await grantedPackages(g.groupId)).toBe(35);
    const charges = chargesOf(g);
    expect(charges).toHaveLength(11);
    expect(charges.reduce((s, c) => s + c.amount, 0)).toBe(35 * 800);
    const invoices = await q<{ n: number }>("select count(*)::int as n from invoices where group_id = $1", [g.groupId]);
    expect(invoices.rows[0]!.n).toBe(11);
    expect((await summary(g)).plan).toMatchObject({ packages: 35, price: { amount: 35 * 800, currency: "usd" }, status: "active" });
    await expectLedgerConsistent(server.deps.database);
  });
});

describe("Stripe plans: what is billed is what is granted, one subscription per group", () => {
  const stripeGet = async (path: string) => (await fetch(`${server.stripe.url}${path}`, { headers: { authorization: "Bearer sk_test_x" } })).json();
  const planOf = async (groupId: string) => (await q<{ s: string; quantity: number }>("select stripe_subscription_id as s, quantity from plans where group_id = $1", [groupId])).rows[0]!;

  it("ten raises at once: Stripe's quantity equals the granted packages, and each raise is invoiced at full price now", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const rs = await Promise.all(Array.from({ length: 10 }, () => buy(g, "monthly", 3)));
    // On a loaded machine a raise may outlast Stripe's deadline: then it is pending (202) and settled by the loop.
    expect(rs.every((r) => (r.status === 200 && r.json.status === "completed") || (r.status === 202 && r.json.status === "pending"))).toBe(true);
    await eventually(async () => {
      await server.billing.settlePendingPurchases();
      const { rows } = await q<{ n: number }>("select count(*)::int as n from purchases where group_id = $1 and status <> 'completed'", [g.groupId]);
      const synced = (await q<{ s: boolean }>("select quantity_synced as s from plans where group_id = $1", [g.groupId])).rows[0]!.s;
      return rows[0]!.n === 0 && synced;
    }, 30_000);
    const plan = await planOf(g.groupId);
    const sub = await stripeGet(`/v1/subscriptions/${plan.s}`);
    expect(plan.quantity).toBe(32);
    expect(sub.items.data[0].quantity).toBe(32);
    expect(await grantedPackages(g.groupId)).toBe(32);
    const invoices = (await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`)).json.invoices as { total: { amount: number } }[];
    expect(invoices.filter((i) => i.total.amount === 3 * 800)).toHaveLength(10);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a second monthly Checkout expires the first, so two tabs cannot both pay for a plan", async () => {
    const g = await group(false);
    const first = await buy(g, "monthly", 2);
    const second = await buy(g, "monthly", 3);
    expect([first.json.status, second.json.status]).toEqual(["redirect", "redirect"]);
    const older = (await q<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [first.json.purchaseId])).rows[0]!.s;
    expect((await stripeGet(`/v1/checkout/sessions/${older}`)).status).toBe("expired");
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${first.json.purchaseId}`)).json.status).toBe("expired");
    await payOnHostedCheckout(second.json.url);
    await eventually(async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${second.json.purchaseId}`)).json.status === "completed");
    expect((await planOf(g.groupId)).quantity).toBe(3);
  });

  it("if two subscriptions become active anyway, the later is cancelled and refunded and the group keeps one plan", async () => {
    const g = await group(false);
    // Stripe's webhooks are held back, so the first payment is not known when the second Checkout starts.
    server.stripe.setWebhookUrl(null);
    const from = server.stripe.events().length;
    let first, second;
    try {
      first = await buy(g, "monthly", 2);
      await payOnHostedCheckout(first.json.url);
      second = await buy(g, "monthly", 4);
      expect(second.json.status).toBe("redirect");
      await payOnHostedCheckout(second.json.url);
    } finally {
      server.stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
    }
    for (const e of server.stripe.events().slice(from)) await postStripeEvent(server, e);
    const plan = await planOf(g.groupId);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId])).rows[0]!.c;
    const subs = (await stripeGet(`/v1/subscriptions?customer=${customer}&status=all`)).data as { id: string; status: string; items: { data: { quantity: number }[] } }[];
    const live = subs.filter((s) => s.status !== "canceled");
    expect(live.map((s) => s.id)).toEqual([plan.s]);
    expect(live[0]!.items.data[0]!.quantity).toBe(plan.quantity);
    expect(await grantedPackages(g.groupId)).toBe(plan.quantity);
    const statuses = [first.json.purchaseId, second.json.purchaseId].map(async (id) => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${id}`)).json.status);
    expect((await Promise.all(statuses)).sort()).toEqual(["completed", "failed"]);
    // The cancelled subscription's payment is given back whole: the refund is what its invoice took.
    const cancelled = subs.find((s) => s.status === "canceled")!;
    const { latest_invoice: paidInvoice } = (await stripeGet(`/v1/subscriptions/${cancelled.id}`)) as { latest_invoice: string };
    const paid = (await stripeGet(`/v1/invoices/${paidInvoice}`)) as { amount_paid: number; customer: string };
    expect(paid.amount_paid).toBe(cancelled.items.data[0]!.quantity * 800);
    const refunds = server.stripe
      .events()
      .slice(from)
      .filter((e) => e.type === "refund.created")
      .map((e) => e.data.object as { amount: number; metadata: Record<string, string> });
    expect(refunds.map((r) => ({ amount: r.amount, reason: r.metadata.reason }))).toEqual([{ amount: paid.amount_paid, reason: "second subscription of a group" }]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a past-due plan is not raised: 409 names the unpaid renewal invoice's link in its details", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId])).rows[0]!.c;
    await server.stripe.declineNextCharges(customer, 1);
    await server.stripe.advanceSubscription(subscriptionId);
    await eventually(async () => (await summary(g)).plan?.status === "past_due");
    const { latest_invoice: invoiceId } = (await stripeGet(`/v1/subscriptions/${subscriptionId}`)) as { latest_invoice: string };
    const unpaid = (await stripeGet(`/v1/invoices/${invoiceId}`)) as { status: string; hosted_invoice_url: string };
    expect(unpaid.status).toBe("open");
    expect(unpaid.hosted_invoice_url).toMatch(/^https?:\/\//);
    const grantsBefore = await grantCount(server, g.groupId);

    const r = await buy(g, "monthly", 1);
    expect(r.status).toBe(409);
    expect(r.json.error).toEqual({ code: "conflict", message: expect.stringContaining(unpaid.hosted_invoice_url) as string, details: { hostedInvoiceUrl: unpaid.hosted_invoice_url } });
    // The preview answers the same, so the dialog offers the invoice instead of a price to confirm.
    const preview = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases/preview`, { type: "monthly", quantity: 1 });
    expect([preview.status, preview.json.error]).toEqual([409, r.json.error]);
    expect((await g.admin.post(`/api/groups/${g.groupId}/billing/purchases/preview`, { type: "one_time", quantity: 1 })).status).toBe(200);
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    expect((await q<{ n: number }>("select count(*)::int as n from purchases where group_id = $1", [g.groupId])).rows[0]!.n).toBe(1);
  });

  it("a declined raise's invoice is voided, so it cannot be paid later, when its plan may be gone", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId])).rows[0]!.c;
    await server.stripe.declineNextCharges(customer, 1);
    const grantsBefore = await grantCount(server, g.groupId);
    const r = await buy(g, "monthly", 1);
    expect([r.status, r.json.error?.code]).toEqual([402, "payment_failed"]);
    const { rows } = await q<{ i: string }>("select stripe_invoice_id as i from purchases where group_id = $1 and raises_plan", [g.groupId]);
    expect((await stripeGet(`/v1/invoices/${rows[0]!.i}`)).status).toBe("void");
    const pay = await stripeForm(`/v1/invoices/${rows[0]!.i}/pay`, {});
    expect(pay).toMatchObject({ error: { message: expect.stringContaining("voided") as string } });
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    expect((await planOf(g.groupId)).quantity).toBe(2);
  });

  it("a raise paid after its plan was cancelled is refunded whole; no plan is made, and the next monthly purchase starts one with Checkout", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const r = await raiseUnanswered(g);
    // Meanwhile the plan ends.
    await fetch(`${server.stripe.url}/v1/subscriptions/${subscriptionId}`, { method: "DELETE", headers: { authorization: "Bearer sk_test_x" } });
    await eventually(async () => (await summary(g)).plan === null);
    const grantsBefore = await grantCount(server, g.groupId);
    const from = server.stripe.events().length;

    await server.billing.settlePendingPurchases();
    const purchase = (await q<{ status: string; failure_reason: string; i: string }>("select status, failure_reason, stripe_invoice_id as i from purchases where id = $1", [r.json.purchaseId])).rows[0]!;
    expect(purchase).toMatchObject({ status: "failed", failure_reason: expect.stringContaining("refunded") as string });
    const paid = (await stripeGet(`/v1/invoices/${purchase.i}`)) as { status: string; amount_paid: number };
    expect(paid).toMatchObject({ status: "paid", amount_paid: 800 });
    const refunds = () => refundAmountsSince(server, from);
    await eventually(async () => (await webhookHandled(server, "invoice.paid", purchase.i)) && refunds().length > 0);
    expect(refunds()).toEqual([800]);
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    const plans = (await q<{ status: string; s: string }>("select status, stripe_subscription_id as s from plans where group_id = $1", [g.groupId])).rows;
    expect(plans).toEqual([{ status: "canceled", s: subscriptionId }]);
    expect((await summary(g)).plan).toBeNull();
    expect((await buy(g, "monthly", 1)).json.status).toBe("redirect");
    await expectLedgerConsistent(server.deps.database);
  });

  it("a raise paid after its plan's period ended is refunded, not granted for the period that is over", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const r = await raiseUnanswered(g);
    const { rows } = await q<{ end: Date }>("select current_period_end as end from plans where group_id = $1", [g.groupId]);
    const grantsBefore = await grantCount(server, g.groupId);
    server.clock.set(new Date(rows[0]!.end.getTime() + 1000));
    try {
      await server.billing.settlePendingPurchases();
    } finally {
      server.clock.reset();
    }
    const purchase = (await q<{ status: string; failure_reason: string }>("select status, failure_reason from purchases where id = $1", [r.json.purchaseId])).rows[0]!;
    expect(purchase).toMatchObject({ status: "failed", failure_reason: expect.stringContaining("refunded") as string });
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    expect((await planOf(g.groupId)).quantity).toBe(2);
  });

  it("a paid renewal whose webhooks were lost is read back from Stripe a few minutes after the period end, and granted once", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const old = (await q<{ start: Date; end: Date }>("select current_period_start as start, current_period_end as end from plans where group_id = $1", [g.groupId])).rows[0]!;
    await withLostWebhooks(() => server.stripe.advanceSubscription(subscriptionId)); // Stripe's events about the renewal never arrive
    const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
    const renewal = await stripeGet(`/v1/invoices/${sub.latest_invoice}`);
    expect([renewal.billing_reason, renewal.amount_paid]).toEqual(["subscription_cycle", 2 * 800]);
    const grantsBefore = await grantCount(server, g.groupId);
    try {
      // A minute after the period end the webhook may just be late: Stripe is not asked yet.
      server.clock.set(new Date(old.end.getTime() + 60_000));
      await server.billing.settlePendingPurchases();
      expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
      server.clock.set(new Date(old.end.getTime() + 6 * 60_000));
      await server.billing.settlePendingPurchases();
      await server.billing.settlePendingPurchases();
      server.clock.set(new Date(old.end.getTime() + 20 * 60_000));
      await server.billing.settlePendingPurchases();
      const plan = (await q<{ start: Date; status: string }>("select current_period_start as start, status from plans where group_id = $1", [g.groupId])).rows[0]!;
      expect([plan.start.toISOString(), plan.status]).toEqual([old.end.toISOString(), "active"]);
      expect(await grantCount(server, g.groupId)).toBe(grantsBefore + 1);
      expect(await grantedPackages(g.groupId)).toBe(2); // billed 2 packages, granted 2
      expect((await summary(g)).plan).toMatchObject({ packages: 2, status: "active" });
    } finally {
      server.clock.reset();
    }
    await expectLedgerConsistent(server.deps.database);
  });

  /** Stripe's events about what `act` does, held back (lost), then the ones named by `deliver` sent, signed. */
  async function withLostWebhooks(act: () => Promise<unknown>, deliver: (e: { type: string }) => boolean = () => false) {
    for (const e of (await holdStripeEvents(server, act)).filter(deliver)) expect((await postStripeEvent(server, e)).status).toBe(200);
  }
  const periodOf = async (groupId: string) =>
    (await q<{ start: Date; end: Date; status: string }>("select current_period_start as start, current_period_end as end, status from plans where group_id = $1", [groupId])).rows[0]!;

  it("a monthly Checkout whose events arrive only after its first renewal's (newest first): each payment grants its own period, billed == granted", async () => {
    const g = await group(false);
    const r = await buy(g, "monthly", 2);
    const { rows } = await q<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [r.json.purchaseId]);
    let subscriptionId = "";
    const events = await holdStripeEvents(server, async () => {
      await server.stripe.payCheckoutSession(rows[0]!.s);
      const session = await stripeGet(`/v1/checkout/sessions/${rows[0]!.s}`);
      subscriptionId = typeof session.subscription === "string" ? session.subscription : session.subscription.id;
      await server.stripe.advanceSubscription(subscriptionId);
    });
    for (const e of events.reverse()) expect((await postStripeEvent(server, e)).status).toBe(200);
    const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
    const paid = (await stripeGet(`/v1/invoices?customer=${sub.customer}&status=paid&limit=100`)).data as { billing_reason: string }[];
    expect(paid.map((i) => i.billing_reason).sort()).toEqual(["subscription_create", "subscription_cycle"]);
    // Before: the renewal's invoice.paid, first, found no plan and was dropped, and the Checkout then
    // granted the renewal's period as its own: two payments, one grant.
    expect(await grantCount(server, g.groupId)).toBe(2);
    const { rows: live } = await q<{ start: Date }>("select period_start as start from credit_grants where group_id = $1 and kind = 'monthly' and expired_at is null and remaining > 0", [g.groupId]);
    expect(live.map((l) => l.start.getTime() / 1000)).toEqual([sub.items.data[0].current_period_start]);
    expect((await summary(g)).plan).toMatchObject({ packages: 2, status: "active" });
    await expectLedgerConsistent(server.deps.database);
  });

  it("a renewal whose subscription.updated arrived but whose invoice.paid was lost is still read back and granted once", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const old = await periodOf(g.groupId);
    await withLostWebhooks(() => server.stripe.advanceSubscription(subscriptionId), (e) => e.type === "customer.subscription.updated");
    const grantsBefore = await grantCount(server, g.groupId);
    await settleAt(server, new Date(old.end.getTime() + 6 * 60_000));
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore + 1);
    expect((await periodOf(g.groupId)).start.toISOString()).toBe(old.end.toISOString());
    expect(await grantedPackages(g.groupId)).toBe(2);
  });

  it("a past-due renewal paid later while its webhooks are lost is read back: the plan is active again and the period granted", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId])).rows[0]!.c;
    const old = await periodOf(g.groupId);
    await server.stripe.declineNextCharges(customer, 1);
    await server.stripe.advanceSubscription(subscriptionId);
    await eventually(async () => (await summary(g)).plan?.status === "past_due");
    const { latest_invoice: unpaid } = (await stripeGet(`/v1/subscriptions/${subscriptionId}`)) as { latest_invoice: string };
    await withLostWebhooks(() => stripeForm(`/v1/invoices/${unpaid}/pay`, {}));
    expect((await stripeGet(`/v1/invoices/${unpaid}`)).amount_paid).toBe(2 * 800);
    const grantsBefore = await grantCount(server, g.groupId);
    await settleAt(server, new Date(old.end.getTime() + 60 * 60_000));
    expect(await periodOf(g.groupId)).toMatchObject({ status: "active", start: old.end });
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore + 1);
    expect(await grantedPackages(g.groupId)).toBe(2);
  });

  it("a subscription deleted before its renewal's invoice.paid arrives stays ended: the late renewal revives nothing", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    const from = server.stripe.events().length;
    await withLostWebhooks(async () => {
      await server.stripe.advanceSubscription(subscriptionId);
      await fetch(`${server.stripe.url}/v1/subscriptions/${subscriptionId}`, { method: "DELETE", headers: { authorization: "Bearer sk_test_x" } });
    });
    const events = server.stripe.events().slice(from);
    const deleted = events.find((e) => e.type === "customer.subscription.deleted")!;
    const paid = events.find((e) => e.type === "invoice.paid")!;
    const grantsBefore = await grantCount(server, g.groupId);
    for (const e of [deleted, paid]) await postStripeEvent(server, e);
    expect((await periodOf(g.groupId)).status).toBe("canceled");
    expect((await summary(g)).plan).toBeNull();
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    await expectLedgerConsistent(server.deps.database);
  });

  it("buying monthly while the plan cancels at period end resumes it at Stripe, so the next period bills every granted package", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    const { s: subscriptionId } = await planOf(g.groupId);
    // The customer cancels at period end (the portal does this at Stripe); the page says so.
    await stripeForm(`/v1/subscriptions/${subscriptionId}`, { cancel_at_period_end: "true" });
    await eventually(async () => (await summary(g)).plan?.status === "canceling");

    const r = await buy(g, "monthly", 3);
    expect([200, 202]).toContain(r.status);
    await eventually(async () => {
      await server.billing.settlePendingPurchases();
      const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
      const synced = (await q<{ s: boolean }>("select quantity_synced as s from plans where group_id = $1", [g.groupId])).rows[0]!.s;
      return synced && sub.cancel_at_period_end === false && sub.items.data[0].quantity === 5;
    }, 30_000);
    expect(await grantedPackages(g.groupId)).toBe(5);
    // Stripe's later events (the update's own) leave it resumed.
    await webhookHandled(server, "customer.subscription.updated", subscriptionId);
    await eventually(async () => (await summary(g)).plan?.status === "active");
    expect((await summary(g)).plan).toMatchObject({ packages: 5, status: "active", cancelAt: null });

    // The next period: Stripe renews (does not cancel) and bills 5 packages; 5 are granted.
    const before = (await q<{ start: Date }>("select current_period_start as start from plans where group_id = $1", [g.groupId])).rows[0]!.start;
    await server.stripe.advanceSubscription(subscriptionId);
    await eventually(async () => (await q<{ start: Date }>("select current_period_start as start from plans where group_id = $1", [g.groupId])).rows[0]!.start > before);
    const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
    expect(sub.status).toBe("active");
    const renewal = await stripeGet(`/v1/invoices/${sub.latest_invoice}`);
    expect(renewal.amount_paid).toBe(5 * 800);
    await eventually(async () => (await grantedPackages(g.groupId)) === 5);
    await expectLedgerConsistent(server.deps.database);
  });
});

describe("fulfilment is verified, never trusted from metadata", () => {
  it("a session created outside the product for 1 cent, naming a pending purchase, grants nothing", async () => {
    const g = await group(false);
    const real = await buy(g, "one_time", 50);
    expect(real.json.status).toBe("redirect");
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g.groupId])).rows[0]!.c;
    const forged = await stripeForm("/v1/checkout/sessions", {
      mode: "payment",
      customer,
      success_url: "https://x.example/s",
      cancel_url: "https://x.example/c",
      "line_items[0][quantity]": "1",
      "line_items[0][price_data][currency]": "usd",
      "line_items[0][price_data][unit_amount]": "1",
      "line_items[0][price_data][product_data][name]": "forged",
      "metadata[purchaseId]": real.json.purchaseId,
      "metadata[groupId]": g.groupId,
    });
    await server.stripe.payCheckoutSession(forged.id);
    await webhookHandled(server, "checkout.session.completed", forged.id);
    const p = await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${real.json.purchaseId}`);
    expect(p.json.status).toBe("open");
    expect(await grantCount(server, g.groupId)).toBe(0);
  });

  it("a free subscription session naming another group grants nothing and leaves that group's plan alone", async () => {
    const victim = await group(false);
    await buyThroughCheckout(server, victim.admin, victim.groupId, "monthly", 2);
    const before = (await q<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [victim.groupId])).rows[0]!.s;
    const attacker = await group(false);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [attacker.groupId])).rows[0]!.c;
    const forged = await stripeForm("/v1/checkout/sessions", {
      mode: "subscription",
      customer,
      success_url: "https://x.example/s",
      cancel_url: "https://x.example/c",
      "line_items[0][quantity]": "50",
      "line_items[0][price_data][currency]": "usd",
      "line_items[0][price_data][unit_amount]": "0",
      "line_items[0][price_data][recurring][interval]": "month",
      "line_items[0][price_data][product_data][name]": "forged",
      "subscription_data[metadata][groupId]": victim.groupId,
      "metadata[groupId]": victim.groupId,
    });
    await server.stripe.payCheckoutSession(forged.id);
    await webhookHandled(server, "checkout.session.completed", forged.id);
    const after = (await q<{ s: string; quantity: number }>("select stripe_subscription_id as s, quantity from plans where group_id = $1", [victim.groupId])).rows[0]!;
    expect(after).toEqual({ s: before, quantity: 2 });
    expect(await grantedPackages(victim.groupId)).toBe(2);
    expect(await grantCount(server, attacker.groupId)).toBe(0);
  });

  it("a validly signed event without data.object is acknowledged and changes nothing", async () => {
    const r = await postStripeEvent(server, { id: "evt_no_object", type: "checkout.session.completed", data: {} });
    expect(r.status).toBe(200);
  });
});

describe("a past-due partner plan", () => {
  it("is not raised: 409 names the partner portal, where the unpaid renewal is paid", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 2)).json.status).toBe("completed");
    const { rows } = await q<{ end: Date }>("select current_period_end as end from plans where group_id = $1", [g.groupId]);
    await renewWhilePartner(new Date(rows[0]!.end.getTime() + 1000), "decline");
    expect((await summary(g)).plan?.status).toBe("past_due");
    const r = await buy(g, "monthly", 1);
    expect(r.status).toBe(409);
    expect(r.json.error.details).toEqual({ hostedInvoiceUrl: `${server.billing.deps.partnerPortalUrl}/${g.f.org.partnerAccountId}` });
    const preview = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases/preview`, { type: "monthly", quantity: 1 });
    expect([preview.status, preview.json.error]).toEqual([409, r.json.error]);
    expect(chargesOf(g)).toHaveLength(1);
  });
});

describe("between a plan's period end and its renewal, the plan is still the group's", () => {
  it("partner: a monthly purchase is 409 while the renewal is due or pending, never a new plan; the renewal is then granted once", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 4)).json.status).toBe("completed");
    const plan = async () => (await q<{ quantity: number; current_period_end: Date }>("select quantity, current_period_end from plans where group_id = $1", [g.groupId])).rows[0]!;
    const end1 = (await plan()).current_period_end;
    const after = new Date(end1.getTime() + 1000);
    server.clock.set(after);
    try {
      // Due, not yet renewed: before, the page showed no plan, the preview a first plan of 1, and the
      // purchase replaced the 4-package plan with a 1-package one, expiring the period's credits.
      // The preview says what the purchase would: not now (the dialog shows it before any confirm).
      expect((await summary(g)).plan).toMatchObject({ packages: 4 });
      const preview = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases/preview`, { type: "monthly", quantity: 1 });
      expect([preview.status, preview.json.error?.message]).toEqual([409, "The plan is being renewed right now. Try again in a minute."]);
      const due = await buy(g, "monthly", 1);
      expect([due.status, due.json.error?.code]).toEqual([409, "conflict"]);
      // Its charge is pending (the partner does not answer): still no new plan.
      await renewWhilePartner(after, "hang");
      expect((await buy(g, "monthly", 1)).status).toBe(409);
      expect((await summary(g)).plan).toMatchObject({ packages: 4 });
    } finally {
      server.clock.reset();
    }
    // The renewal settles: one more charge, one grant of 4 packages, and the plan is 4 packages for its next period.
    await server.billing.renewDuePartnerPlans(new Date(after.getTime() + 61_000));
    expect((await plan()).quantity).toBe(4);
    expect((await plan()).current_period_end.getTime()).toBeGreaterThan(end1.getTime());
    expect(chargesOf(g).map((c) => c.amount)).toEqual([3200, 3200]);
    const { rows } = await q<{ packages: number }>("select packages from credit_grants where group_id = $1 and kind = 'monthly' order by id", [g.groupId]);
    expect(rows.map((r) => r.packages)).toEqual([4, 4]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("partner: a past-due plan past its period end is still shown past due, and buying monthly is 409, not a new plan", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 2)).json.status).toBe("completed");
    const { rows } = await q<{ end: Date }>("select current_period_end as end from plans where group_id = $1", [g.groupId]);
    const after = new Date(rows[0]!.end.getTime() + 1000);
    await renewWhilePartner(after, "decline");
    server.clock.set(after);
    try {
      expect((await summary(g)).plan).toMatchObject({ packages: 2, status: "past_due" });
      const r = await buy(g, "monthly", 1);
      expect([r.status, r.json.error.details]).toEqual([409, { hostedInvoiceUrl: `${server.billing.deps.partnerPortalUrl}/${g.f.org.partnerAccountId}` }]);
    } finally {
      server.clock.reset();
    }
    expect(chargesOf(g)).toHaveLength(1);
  });

  it("Stripe: a monthly purchase while the renewal's webhook has not arrived is 409, never a second subscription", async () => {
    const g = await group(false);
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 5);
    const { rows } = await q<{ end: Date }>("select current_period_end as end from plans where group_id = $1", [g.groupId]);
    server.clock.set(new Date(rows[0]!.end.getTime() + 1000));
    try {
      expect((await summary(g)).plan).toMatchObject({ packages: 5 });
      const r = await buy(g, "monthly", 1);
      expect([r.status, r.json.error?.code]).toEqual([409, "conflict"]);
    } finally {
      server.clock.reset();
    }
    const { rows: subs } = await q<{ n: number }>("select count(*)::int as n from purchases where group_id = $1 and type = 'monthly'", [g.groupId]);
    expect(subs[0]!.n).toBe(1);
  });
});

describe("a slow partner never takes money without granting", () => {
  it("a raise answered after its plan's period ended waits for the renewal, then is granted for the new period: billed == granted", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 2)).json.status).toBe("completed");
    const end = (await q<{ end: Date }>("select current_period_end as end from plans where group_id = $1", [g.groupId])).rows[0]!.end;
    server.partner.setFault("delay", { delayMs: 4000 });
    let r;
    try {
      r = await buy(g, "monthly", 3);
    } finally {
      server.partner.setFault("none");
    }
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    const status = async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${r.json.purchaseId}`)).json.status;
    server.clock.set(new Date(end.getTime() + 1000));
    try {
      await server.billing.settlePendingPurchases();
      expect(await status()).toBe("pending"); // its period is over; the renewal has not moved the plan on yet
      await server.billing.renewDuePartnerPlans(new Date(end.getTime() + 2000));
      server.clock.set(new Date(end.getTime() + 10_000));
      await server.billing.settlePendingPurchases();
      expect(await status()).toBe("completed");
      expect(await grantedPackages(g.groupId)).toBe(5); // the renewal's 2 and the raise's 3, for the new period
    } finally {
      server.clock.reset();
    }
    expect(chargesOf(g).map((c) => c.amount)).toEqual([1600, 2400, 1600]);
    const { rows } = await q<{ n: number }>("select coalesce(sum(packages), 0)::int as n from credit_grants where group_id = $1", [g.groupId]);
    expect(rows[0]!.n).toBe(7); // 7 packages billed, 7 granted
    expect((await q<{ quantity: number }>("select quantity from plans where group_id = $1", [g.groupId])).rows[0]!.quantity).toBe(5);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a late answer is pending (202), then settled once: one charge, one grant, one invoice line", async () => {
    const g = await group(true);
    // A real outside delay is what is tested: the partner answers after the gateway's 3 s deadline.
    server.partner.setFault("delay", { delayMs: 4000 });
    let r;
    try {
      r = await buy(g, "one_time", 2, "slow-1");
    } finally {
      server.partner.setFault("none");
    }
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ status: "pending", purchaseId: expect.any(String) });
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${r.json.purchaseId}`)).json.status).toBe("pending");
    expect(await grantCount(server, g.groupId)).toBe(0);

    await Promise.all([server.billing.settlePendingPurchases(), server.billing.settlePendingPurchases()]);
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${r.json.purchaseId}`)).json.status).toBe("completed");
    // The customer retries with the same key: nothing more is charged or granted.
    expect((await buy(g, "one_time", 2, "slow-1")).json).toMatchObject({ status: "completed", credits: 2000 });
    expect(chargesOf(g)).toHaveLength(1);
    expect(await grantCount(server, g.groupId)).toBe(1);
    expect((await q<{ n: number }>("select count(*)::int as n from invoices where group_id = $1", [g.groupId])).rows[0]!.n).toBe(1);
    expect((await summary(g)).credits.oneTime).toEqual({ total: 2000, used: 0, remaining: 2000 });
    await expectLedgerConsistent(server.deps.database);
  });

  it("a renewal answered late is settled once; one with no answer keeps the plan active and its credits spendable until it settles", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 2)).json.status).toBe("completed");
    const plan = async () => (await q<{ status: string; current_period_end: Date }>("select status, current_period_end from plans where group_id = $1", [g.groupId])).rows[0]!;
    const count = async (sql: string) => (await q<{ n: number }>(sql, [g.groupId])).rows[0]!.n;
    const end1 = (await plan()).current_period_end;

    // Late answer (a real outside delay): charged, answer lost; the charge is found by its key and applied once.
    await renewWhilePartner(new Date(end1.getTime() + 1), "delay", { delayMs: 4000 });
    const end2 = (await plan()).current_period_end;
    expect(end2.getTime()).toBeGreaterThan(end1.getTime());
    expect(chargesOf(g)).toHaveLength(2);

    // No answer at all: unknown, so neither failed nor past due, and the period's credits stay spendable.
    const after2 = new Date(end2.getTime() + 1);
    await renewWhilePartner(after2, "hang");
    server.clock.set(after2);
    try {
      expect((await plan()).status).toBe("active");
      expect((await plan()).current_period_end).toEqual(end2);
      expect((await summary(g)).credits.monthly).toMatchObject({ remaining: 2000 });
    } finally {
      server.clock.reset();
    }
    // The next round asks again with the same key and settles it once.
    await server.billing.renewDuePartnerPlans(new Date(after2.getTime() + 61_000));
    await server.billing.renewDuePartnerPlans(new Date(after2.getTime() + 200_000));
    expect((await plan()).current_period_end.getTime()).toBeGreaterThan(end2.getTime());
    expect(chargesOf(g)).toHaveLength(3);
    expect(await count("select count(*)::int as n from invoices where group_id = $1")).toBe(3);
    expect(await count("select count(*)::int as n from credit_grants where group_id = $1 and kind = 'monthly'")).toBe(3);
    await expectLedgerConsistent(server.deps.database);
  });

  it("an outage before anything was sent is 503 billing_unavailable; a decline is 402 with the reason", async () => {
    const g = await group(true);
    server.partner.setFault("error");
    try {
      const r = await buy(g, "one_time", 1);
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe("billing_unavailable");
      server.partner.setFault("decline");
      const d = await buy(g, "one_time", 1);
      expect(d.status).toBe(402);
      expect(d.json.error.code).toBe("payment_failed");
    } finally {
      server.partner.setFault("none");
    }
    expect(await grantCount(server, g.groupId)).toBe(0);
  });
});

describe("the price a customer saw is the price charged", () => {
  it("preview changes nothing and names what is due now; a different expectedDueNow is 409", async () => {
    const g = await group(true);
    expect((await buy(g, "monthly", 4)).json.status).toBe("completed");
    const preview = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases/preview`, { type: "monthly", quantity: 3 });
    expect(preview.json).toEqual({ credits: 3000, dueNow: { amount: 2400, currency: "usd" }, recurring: { amount: 5600, currency: "usd" }, plan: { fromPackages: 4, toPackages: 7 } });
    expect(chargesOf(g)).toHaveLength(1);
    const stale = await buy(g, "monthly", 3, undefined, { expectedDueNow: 2000 });
    expect(stale.status).toBe(409);
    expect(chargesOf(g)).toHaveLength(1);
    expect((await buy(g, "monthly", 3, undefined, { expectedDueNow: 2400 })).json.status).toBe("completed");
    expect((await summary(g)).plan.packages).toBe(7);
  });
});
