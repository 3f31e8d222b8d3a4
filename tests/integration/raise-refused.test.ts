import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { standardGroupWithPurchase, stripeApi } from "../support/billing.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { startTestServer, type TestServer } from "../support/server.js";

// credits.md "Unknown outcomes": a call refused before anything was sent is `503 billing_unavailable`,
// which tells the admin that nothing happened. A plan raise answered 503 must stay that way: were its
// purchase kept pending, the settling loop would charge it once Stripe is back, and an admin who
// clicked again meanwhile would pay for two raises.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string) => stripeApi<T>(server, path);

/** A standard group with a 2-package Stripe plan bought through Checkout, and what Stripe and we hold of it. */
async function groupWithPlan() {
  const { admin, groupId, customer, subscriptionId } = await standardGroupWithPurchase(server, "monthly", 2);
  const paidInvoices = async () => (await stripe<{ data: { status: string; amount_paid: number }[] }>(`/v1/invoices?customer=${customer}&limit=100`)).data.filter((i) => i.status === "paid");
  const stripeQuantity = async () => (await stripe<{ items: { data: { quantity: number }[] } }>(`/v1/subscriptions/${subscriptionId}`)).items.data[0]!.quantity;
  const grantedPackages = async () =>
    (await q<{ n: number }>("select coalesce(sum(packages), 0)::int as n from credit_grants where group_id = $1 and kind = 'monthly' and expired_at is null", [groupId])).rows[0]!.n;
  /** The Checkout's 2 packages and one raise of 1: two payments, 3 packages granted and billed at Stripe. */
  const expectOneRaise = async () => {
    const paid = await paidInvoices();
    expect(paid.length).toBe(2);
    expect(paid.reduce((s, i) => s + i.amount_paid, 0)).toBe(3 * server.config.PRICE_MONTHLY);
    expect(await grantedPackages()).toBe(3);
    expect(await stripeQuantity()).toBe(3);
    await expectLedgerConsistent(server.deps.database);
  };
  return { admin, groupId, paidInvoices, stripeQuantity, grantedPackages, expectOneRaise };
}

describe("a plan raise Stripe refused", () => {
  it("answers 503 and charges nothing later; the admin's second try is the one raise, billed and granted once", async () => {
    const g = await groupWithPlan();
    const { admin, groupId } = g;

    server.stripe.setFault("error");
    try {
      const r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 1 }, { "idempotency-key": "raise-first-click" });
      expect([r.status, r.json.error?.code]).toEqual([503, "billing_unavailable"]);
    } finally {
      server.stripe.setFault("none");
    }
    // Stripe is back: the settling loop's rounds charge nothing for the refused raise.
    await server.billing.settlePendingPurchases();
    await server.billing.settlePendingPurchases();
    expect((await g.paidInvoices()).length, "a raise answered 503 was charged later").toBe(1);
    expect(await g.stripeQuantity()).toBe(2);
    expect(await g.grantedPackages()).toBe(2);
    const { rows: pending } = await q<{ n: number }>("select count(*)::int as n from purchases where group_id = $1 and status = 'pending'", [groupId]);
    expect(pending[0]!.n).toBe(0);

    // The admin clicks again (a new request): the one raise, charged and granted once.
    const again = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
    expect([again.status, again.json.status]).toEqual([200, "completed"]);
    await server.billing.settlePendingPurchases();
    await g.expectOneRaise();
  });

  it("refused after its invoice was made at Stripe: pending, then charged and granted once by the settling loop", async () => {
    const g = await groupWithPlan();
    const { admin, groupId } = g;
    // The draft is made and recorded; adding its item is refused (and the SDK's retry of it).
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/invoiceitems$/, mode: "error" });
    let r;
    try {
      r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
    } finally {
      server.stripe.setRequestFault(null);
    }
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    expect((await admin.get(`/api/groups/${groupId}/billing/purchases/${r.json.purchaseId}`)).json.status).toBe("pending");
    await server.billing.settlePendingPurchases();
    expect((await admin.get(`/api/groups/${groupId}/billing/purchases/${r.json.purchaseId}`)).json.status).toBe("completed");
    await g.expectOneRaise();
  });
});
