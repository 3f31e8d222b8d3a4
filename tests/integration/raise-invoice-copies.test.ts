import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, webhookHandled } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// A plan raise's payment is its own invoice, the one its idempotency key created (credits.md "Who owns
// what"). Another invoice naming the raise in its metadata (the dashboard's "Duplicate invoice" copies
// it; anything made outside the product) must grant nothing, or the customer, paying both, is billed
// twice for one grant; and since it bought nothing, its payment is given back.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

interface StripeInvoice {
  id: string;
  status: string;
  amount_paid: number;
  customer: string;
  metadata: Record<string, string>;
}
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string, body?: Record<string, string>) =>
  fetch(`${server.stripe.url}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  }).then((r) => r.json() as Promise<T>);

/** A standard group with a 2-package Stripe plan bought through Checkout (its card saved). */
async function groupWithPlan() {
  const f = await createOrgFixture(server.db, { partnerManaged: false });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, "monthly", 2);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  const subscriptionId = (await q<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [groupId])).rows[0]!.s;
  const raise = (quantity: number) => admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity });
  return { f, admin, groupId, customer, subscriptionId, raise };
}
type G = Awaited<ReturnType<typeof groupWithPlan>>;

/** Monthly packages granted for the plan's current period. */
const grantedPackages = async (g: G) =>
  (await q<{ n: number }>(
    "select coalesce(sum(g.packages), 0)::int as n from credit_grants g join plans p on p.group_id = g.group_id where g.group_id = $1 and g.kind = 'monthly' and g.period_start = p.current_period_start and g.expired_at is null",
    [g.groupId],
  )).rows[0]!.n;

const invoicesOf = async (g: G) => (await stripe<{ data: StripeInvoice[] }>(`/v1/invoices?customer=${g.customer}&limit=100`)).data;

/** What Stripe kept from the customer (paid invoices minus refunds) and the money's worth of the credits granted. */
async function billedAndGranted(g: G) {
  const paid = (await invoicesOf(g)).filter((i) => i.status === "paid");
  let billed = paid.reduce((s, i) => s + i.amount_paid, 0);
  for (const e of server.stripe.events().filter((x) => x.type === "refund.created")) {
    const refund = e.data.object as { amount: number; charge: string };
    const charge = await stripe<{ customer: string }>(`/v1/charges/${refund.charge}`);
    if (charge.customer === g.customer) billed -= refund.amount;
  }
  const { rows } = await q<{ n: number }>("select coalesce(sum(granted), 0)::int as n from credit_grants where group_id = $1", [g.groupId]);
  return { billed, granted: (rows[0]!.n / server.config.CREDITS_PER_PACKAGE) * server.config.PRICE_MONTHLY };
}

/** Made outside the product: the same customer, amount and metadata as `own`, on another invoice, paid by the customer. */
async function payCopyOf(g: G, own: StripeInvoice, amount: number) {
  const copy = await stripe<{ id: string }>("/v1/invoices", {
    customer: g.customer,
    currency: "usd",
    collection_method: "charge_automatically",
    auto_advance: "false",
    ...Object.fromEntries(Object.entries(own.metadata).map(([k, v]) => [`metadata[${k}]`, v])),
  });
  await stripe("/v1/invoiceitems", { customer: g.customer, invoice: copy.id, currency: "usd", amount: String(amount), description: "copy" });
  await stripe(`/v1/invoices/${copy.id}/finalize`, {});
  expect((await stripe<{ status: string }>(`/v1/invoices/${copy.id}/pay`, {})).status).toBe("paid");
  await webhookHandled(server, "invoice.paid", copy.id);
  return copy.id;
}

/** The amounts refunded of an invoice's payments. */
async function refundsOf(invoiceId: string) {
  const payments = (await stripe<{ data: { payment: { payment_intent?: string } }[] }>(`/v1/invoice_payments?invoice=${invoiceId}`)).data;
  const intents = new Set(payments.map((p) => p.payment.payment_intent));
  return server.stripe
    .events()
    .filter((e) => e.type === "refund.created" && intents.has((e.data.object as { payment_intent: string }).payment_intent))
    .map((e) => (e.data.object as { amount: number }).amount);
}

describe("a Stripe plan raise is granted only for its own invoice", () => {
  it("its answer lost, a copy of its invoice paid first grants nothing and is refunded; the raise, settled, is billed and granted once", async () => {
    const g = await groupWithPlan();
    const price = server.config.PRICE_MONTHLY;
    // Stripe carries the raise's first request out (its invoice is created) but the answer never comes.
    server.stripe.setFault("lose-answers");
    let r;
    try {
      r = await g.raise(1);
    } finally {
      server.stripe.setFault("none");
    }
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    const purchaseId = r.json.purchaseId as string;
    const own = (await invoicesOf(g)).find((i) => i.metadata.purchaseId === purchaseId);
    expect(own, "the raise's invoice did not reach Stripe").toBeDefined();

    // Someone duplicates it in the dashboard and the customer pays the copy.
    const copy = await payCopyOf(g, own!, price);
    expect(await grantedPackages(g), "a copy of the raise's invoice granted its credits").toBe(2);
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${purchaseId}`)).json.status).toBe("pending");
    expect(await refundsOf(copy), "the copy, which bought nothing, was not refunded").toEqual([price]);

    // The settling loop continues the raise with its own invoice: charged and granted once.
    await server.billing.settlePendingPurchases();
    const purchase = (await q<{ status: string; i: string }>("select status, stripe_invoice_id as i from purchases where id = $1", [purchaseId])).rows[0]!;
    expect(purchase).toEqual({ status: "completed", i: own!.id });
    expect((await stripe<StripeInvoice>(`/v1/invoices/${own!.id}`)).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", own!.id);
    expect(await grantedPackages(g)).toBe(3);
    await eventually(async () => (await stripe<{ items: { data: { quantity: number }[] } }>(`/v1/subscriptions/${g.subscriptionId}`)).items.data[0]!.quantity === 3);
    const money = await billedAndGranted(g);
    expect(money.billed, `billed ${money.billed}, granted ${money.granted}`).toBe(money.granted);
    expect(money.billed).toBe(3 * price);
    expect(await refundsOf(copy)).toEqual([price]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a copy of a completed raise's invoice paid later grants nothing more and is refunded", async () => {
    const g = await groupWithPlan();
    const price = server.config.PRICE_MONTHLY;
    const r = await g.raise(1);
    expect([r.status, r.json.status]).toEqual([200, "completed"]);
    const purchaseId = r.json.purchaseId as string;
    const own = (await invoicesOf(g)).find((i) => i.metadata.purchaseId === purchaseId)!;
    await webhookHandled(server, "invoice.paid", own.id);
    expect(await grantedPackages(g)).toBe(3);

    const copy = await payCopyOf(g, own, price);
    expect(await grantedPackages(g), "a copy of the raise's invoice granted its credits").toBe(3);
    const money = await billedAndGranted(g);
    expect(money.billed, `billed ${money.billed}, granted ${money.granted}: the copy was kept`).toBe(money.granted);
    expect(await refundsOf(copy), "the copy, which bought nothing, was not refunded").toEqual([price]);
    await expectLedgerConsistent(server.deps.database);
  });
});
