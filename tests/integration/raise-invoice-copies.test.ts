import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billedAndGranted as billedAndGrantedAt, payInvoiceCopy, refundsOfInvoice, standardGroupWithPurchase, stripeApi, webhookHandled } from "../support/billing.js";
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
const stripe = <T,>(path: string, body?: Record<string, string>) => stripeApi<T>(server, path, body);

/** A standard group with a 2-package Stripe plan bought through Checkout (its card saved). */
async function groupWithPlan() {
  const { f, admin, groupId, customer, subscriptionId } = await standardGroupWithPurchase(server, "monthly", 2);
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

const billedAndGranted = (g: G) => billedAndGrantedAt(server, g, server.config.PRICE_MONTHLY);
const payCopyOf = (g: G, own: StripeInvoice, amount: number) => payInvoiceCopy(server, g.customer, own, amount);
const refundsOf = (invoiceId: string) => refundsOfInvoice(server, invoiceId);

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
