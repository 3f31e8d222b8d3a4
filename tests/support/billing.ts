import { expect } from "vitest";
import { pressHostedButton } from "../../src/emulators/shared/test-support.js";
import { signWebhookPayload } from "../../src/emulators/stripe/index.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "./factories.js";
import { Client as HttpClient, type Client } from "./http.js";
import type { TestServer } from "./server.js";
import { eventually, WEBHOOK_SECRET } from "./server.js";

/** Open the emulator's hosted Checkout page and press "Pay", as a customer would; returns where it sends the browser. */
export async function payOnHostedCheckout(checkoutUrl: string) {
  const res = await pressHostedButton({ pageUrl: checkoutUrl, button: "Pay" });
  expect(res.status).toBe(303);
  return res.headers.get("location")!;
}

export async function buyThroughCheckout(server: TestServer, admin: Client, groupId: string, type: "one_time" | "monthly", quantity: number) {
  const r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type, quantity });
  expect(r.status).toBe(200);
  expect(r.json.status).toBe("redirect");
  const back = await payOnHostedCheckout(r.json.url);
  expect(back).toContain(`/groups/${groupId}/billing?checkout=success&purchase=${r.json.purchaseId}`);
  await eventually(async () => {
    const p = await admin.get(`/api/groups/${groupId}/billing/purchases/${r.json.purchaseId}`);
    return p.json.status === "completed";
  });
  return r.json.purchaseId as string;
}

/**
 * A standard group whose org admin bought `quantity` packages of `type` through Checkout (the card
 * saved), with its Stripe customer and, for a monthly plan, its subscription.
 */
export async function standardGroupWithPurchase(server: TestServer, type: "one_time" | "monthly", quantity: number, { websites }: { websites?: number } = {}) {
  const f = await createOrgFixture(server.db, { partnerManaged: false, ...(websites ? { websites } : {}) });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, type, quantity);
  const q = <T,>(sql: string) => server.deps.database.query<T>(sql, [groupId]);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1")).rows[0]!.c;
  const subscriptionId = (await q<{ s: string | null }>("select stripe_subscription_id as s from plans where group_id = $1")).rows[0]?.s ?? null;
  return { f, admin, groupId, customer, subscriptionId };
}

/** An invoice as Stripe's API answers it, the fields these tests read. */
export interface StripeInvoiceRow {
  id: string;
  status: string;
  amount_paid: number;
  metadata: Record<string, string>;
  lines: { data: unknown[] };
}

/**
 * A standard group with a Checkout purchase (standardGroupWithPurchase) and what a money test reads
 * of it at Stripe: its customer's invoices (`status`: only those), the amount of its completed
 * purchases, and billed == granted (its paid invoices are its completed purchases, `purchases` of
 * them, each granted once).
 */
export async function standardGroupAtStripe(server: TestServer, type: "one_time" | "monthly", quantity: number) {
  const g = await standardGroupWithPurchase(server, type, quantity, { websites: 1 });
  const invoices = async (status?: string) =>
    (await stripeApi<{ data: StripeInvoiceRow[] }>(server, `/v1/invoices?customer=${g.customer}&limit=100${status ? `&status=${status}` : ""}`)).data;
  const completedAmount = async () =>
    (
      await server.deps.database.query<{ n: number }>("select coalesce(sum(amount), 0)::int as n from purchases where group_id = $1 and status = 'completed'", [
        g.groupId,
      ])
    ).rows[0]!.n;
  const expectBilledAsGranted = async (purchases: number) => {
    const paid = await invoices("paid");
    expect(paid).toHaveLength(purchases);
    expect(paid.reduce((sum, i) => sum + i.amount_paid, 0)).toBe(await completedAmount());
    expect(await grantCount(server, g.groupId)).toBe(purchases);
  };
  return { ...g, invoices, completedAmount, expectBilledAsGranted };
}

/**
 * Auto top-up at 500 credits (1 package, at most 5 a month) for a group that holds 1,000, with an
 * API key of its organization: `spend` debits its first website (600 starts a top-up), `topUps` and
 * `poolAvailable` tell what followed.
 */
export async function withAutoTopUp(server: TestServer, g: { f: Awaited<ReturnType<typeof createOrgFixture>>; admin: Client; groupId: string }) {
  const api = new HttpClient(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, g.f.org.id)}` });
  const settings = `/api/groups/${g.groupId}/billing/settings`;
  expect((await g.admin.put(settings, { autoTopUp: { threshold: 500, packages: 1, maxPerMonth: 5 } })).status).toBe(200);
  const poolAvailable = async () => (await g.admin.get(settings)).json.poolAvailable as number;
  return {
    spend: async (credits: number) =>
      expect((await api.post("/api/v1/usage", { websiteId: g.f.websitesA[0]!.id, credits, idempotencyKey: crypto.randomUUID() })).status).toBe(200),
    settings,
    topUps: () => topUpsOf(server, g.groupId),
    poolAvailable,
    /** The group's first top-up succeeds (its next attempt comes 5 s after a failed one). */
    expectToppedUpOnce: () =>
      eventually(async () => {
        const t = (await topUpsOf(server, g.groupId))[0];
        if (t?.status !== "succeeded") throw new Error(`the top-up is ${t?.status} after ${t?.attempts} attempts, the pool at ${await poolAvailable()}`);
        return true;
      }, 20_000),
  };
}

/** A group's auto top-ups, oldest first, each with its purchase, and in how many ms its lease ends (the next try). */
export async function topUpsOf(server: TestServer, groupId: string) {
  const { rows } = await server.deps.database.query<{
    id: string;
    status: string;
    attempts: number;
    purchase_id: string | null;
    purchase_status: string | null;
    amount: number | null;
    own: string | null;
    retry_in_ms: number | null;
  }>(
    `select t.id, t.status, t.attempts, t.purchase_id, p.status as purchase_status, p.amount::int as amount, p.stripe_invoice_id as own,
            (extract(epoch from (t.claimed_until - now())) * 1000)::int as retry_in_ms
       from auto_top_ups t left join purchases p on p.id = t.purchase_id where t.group_id = $1 order by t.seq`,
    [groupId],
  );
  return rows;
}

export async function grantCount(server: TestServer, groupId: string) {
  const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId]);
  return rows[0]!.n;
}

/** The settling loop at `at` (the server's clock), as the scheduler runs it. */
export async function settleAt(server: TestServer, at: Date) {
  server.clock.set(at);
  try {
    await server.billing.settlePendingPurchases();
  } finally {
    server.clock.reset();
  }
}

/** Wait until the server has processed Stripe's event of this type about this object (webhooks are asynchronous). */
export const webhookHandled = (server: TestServer, type: string, objectId: string) =>
  eventually(async () => {
    const { rows } = await server.deps.database.query<{ n: number }>(
      "select count(*)::int as n from webhook_events where type = $1 and payload->'data'->'object'->>'id' = $2 and processed_at is not null",
      [type, objectId],
    );
    return rows[0]!.n > 0;
  });

/** A Stripe event (or a hand-made one) posted to the webhook endpoint, signed as Stripe signs it. */
export function postStripeEvent(server: TestServer, event: unknown) {
  const payload = JSON.stringify(event);
  return fetch(`${server.url}/api/webhooks/stripe`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", "stripe-signature": signWebhookPayload({ payload, secret: WEBHOOK_SECRET }) },
  });
}

/** Runs `act` with Stripe's webhooks held back (lost, until posted with postStripeEvent); resolves to the events it made. */
export async function holdStripeEvents(server: TestServer, act: () => Promise<unknown>) {
  const from = server.stripe.events().length;
  server.stripe.setWebhookUrl(null);
  try {
    await act();
  } finally {
    server.stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
  }
  return server.stripe.events().slice(from);
}

/** A request to the Stripe emulator's API as anyone with the account's key makes it (the dashboard, a script). */
export const stripeApi = <T,>(server: TestServer, path: string, body?: Record<string, string>) =>
  fetch(`${server.stripe.url}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  }).then((r) => r.json() as Promise<T>);

/**
 * Made outside the product (the dashboard's "Duplicate invoice"): an invoice of `customer` for `amount`
 * with `own`'s metadata, paid by the customer; resolves once its `invoice.paid` was handled.
 */
export async function payInvoiceCopy(server: TestServer, customer: string, own: { metadata: Record<string, string> }, amount: number) {
  const copy = await stripeApi<{ id: string }>(server, "/v1/invoices", {
    customer,
    currency: "usd",
    collection_method: "charge_automatically",
    auto_advance: "false",
    ...Object.fromEntries(Object.entries(own.metadata).map(([k, v]) => [`metadata[${k}]`, v])),
  });
  await stripeApi(server, "/v1/invoiceitems", { customer, invoice: copy.id, currency: "usd", amount: String(amount), description: "copy" });
  await stripeApi(server, `/v1/invoices/${copy.id}/finalize`, {});
  expect((await stripeApi<{ status: string }>(server, `/v1/invoices/${copy.id}/pay`, {})).status).toBe("paid");
  await webhookHandled(server, "invoice.paid", copy.id);
  return copy.id;
}

/** The amounts refunded of an invoice's payments. */
/** The amounts of the refunds Stripe made since its event number `from` (the emulator's events, in order). */
export const refundAmountsSince = (server: TestServer, from: number) =>
  server.stripe
    .events()
    .slice(from)
    .filter((e) => e.type === "refund.created")
    .map((e) => (e.data.object as { amount: number }).amount);

export async function refundsOfInvoice(server: TestServer, invoiceId: string) {
  const payments = (await stripeApi<{ data: { payment: { payment_intent?: string } }[] }>(server, `/v1/invoice_payments?invoice=${invoiceId}`)).data;
  const intents = new Set(payments.map((p) => p.payment.payment_intent));
  return server.stripe
    .events()
    .filter((e) => e.type === "refund.created" && intents.has((e.data.object as { payment_intent: string }).payment_intent))
    .map((e) => (e.data.object as { amount: number }).amount);
}

/**
 * What Stripe kept from the group's customer (paid invoices minus refunds) and the money's worth of the
 * credits granted to the group, at `pricePerPackage`: equal when every payment bought what it was granted.
 */
export async function billedAndGranted(server: TestServer, g: { groupId: string; customer: string }, pricePerPackage: number) {
  const invoices = (await stripeApi<{ data: { status: string; amount_paid: number }[] }>(server, `/v1/invoices?customer=${g.customer}&limit=100`)).data;
  let billed = invoices.filter((i) => i.status === "paid").reduce((s, i) => s + i.amount_paid, 0);
  for (const e of server.stripe.events().filter((x) => x.type === "refund.created")) {
    const refund = e.data.object as { amount: number; charge: string };
    const charge = await stripeApi<{ customer: string }>(server, `/v1/charges/${refund.charge}`);
    if (charge.customer === g.customer) billed -= refund.amount;
  }
  const { rows } = await server.deps.database.query<{ n: number }>("select coalesce(sum(granted), 0)::int as n from credit_grants where group_id = $1", [g.groupId]);
  return { billed, granted: (rows[0]!.n / server.config.CREDITS_PER_PACKAGE) * pricePerPackage };
}
