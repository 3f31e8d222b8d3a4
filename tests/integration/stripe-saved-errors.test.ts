import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCount, holdStripeEvents, postStripeEvent, refundAmountsSince, settleAt, standardGroupAtStripe, stripeApi, withAutoTopUp } from "../support/billing.js";
import type { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// Stripe saves the answer of a request whose execution began under its idempotency key, a 500 of
// its own included, and replays it to every retry with that key for at least 24 hours
// (https://docs.stripe.com/idempotency). A step of a flow that failed that way must still be
// carried out once the failure is over: the pool is topped up, the raise is granted, and Stripe
// bills exactly what was granted.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const PAY = { method: "POST", path: /^\/v1\/invoices\/[^/]+\/pay$/ } as const;

/** A standard group (its card saved at Checkout) with its Stripe customer. */
const standardGroup = (type: "one_time" | "monthly", quantity: number) => standardGroupAtStripe(server, type, quantity);

/** A raise of the group's plan by one package while Stripe fails the requests `fault` matches after their execution began. */
async function raiseWithSavedError(g: { admin: Client; groupId: string }, fault: { method: "POST"; path: RegExp }) {
  server.stripe.setRequestFault({ ...fault, mode: "error-saved" });
  try {
    return await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
  } finally {
    server.stripe.setRequestFault(null);
  }
}

describe("a step whose 500 Stripe saved under its idempotency key (replayed to every retry with the key)", () => {
  /** 1,000 credits bought through Checkout and auto top-up at 500; spending 600 starts a top-up, whose step `fault` fails that way. */
  async function topUpFailingAt(fault: { method: "POST"; path: RegExp }) {
    const g = await standardGroup("one_time", 1);
    const { settings, spend, topUps, poolAvailable, expectToppedUpOnce } = await withAutoTopUp(server, g);
    server.stripe.setRequestFault({ ...fault, mode: "error-saved" });
    try {
      await spend(600); // 1,000 -> 400: the top-up starts, and its step fails
      // The attempt is over, its outcome unknown, when its lease (30 s) was cut to the retry wait (5 s).
      await eventually(async () => {
        const t = (await topUps())[0];
        return t?.status === "pending" && t.attempts >= 1 && t.retry_in_ms !== null && t.retry_in_ms < 10_000;
      });
    } finally {
      server.stripe.setRequestFault(null);
    }
    return { g, settings, spend, topUps, poolAvailable, expectToppedUpOnce };
  }

  it("auto top-up: its invoice's draft failed that way; once Stripe works again the retry makes one, pays it once and tops the pool up once", async () => {
    const { g, topUps, poolAvailable, expectToppedUpOnce } = await topUpFailingAt({ method: "POST", path: /^\/v1\/invoices$/ });
    expect((await g.invoices()).filter((i) => i.metadata.autoTopUpId)).toEqual([]); // no draft was made
    await expectToppedUpOnce();
    expect(await topUps()).toMatchObject([{ status: "succeeded", purchase_status: "completed" }]);
    expect(await poolAvailable()).toBe(1400);
    expect((await g.invoices()).filter((i) => i.metadata.autoTopUpId).map((i) => i.status)).toEqual(["paid"]);
    await g.expectBilledAsGranted(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("auto top-up: its invoice's payment failed that way; once Stripe works again the retry pays it, the pool is topped up once and the next top-up starts", async () => {
    const { g, settings, spend, topUps, poolAvailable, expectToppedUpOnce } = await topUpFailingAt(PAY); // its invoice is created and finalized, its payment fails
    const [open] = (await g.invoices()).filter((i) => i.metadata.autoTopUpId);
    expect(open?.status).toBe("open"); // nothing was charged

    await expectToppedUpOnce(); // the same invoice
    expect(await topUps()).toMatchObject([{ status: "succeeded", purchase_status: "completed" }]);
    expect(await poolAvailable()).toBe(1400);
    const ofTopUp = (await g.invoices()).filter((i) => i.metadata.autoTopUpId);
    expect(ofTopUp.map((i) => [i.id, i.status])).toEqual([[open!.id, "paid"]]); // the one invoice, paid once
    await g.expectBilledAsGranted(2);
    expect((await g.admin.get(settings)).json).toMatchObject({ autoTopUpDisabledReason: null });

    // One top-up at a time: the next one starts once this one is over, and is bought once.
    await spend(1000); // 1,400 -> 400
    await eventually(async () => (await topUps())[1]?.status === "succeeded", 20_000);
    expect(await poolAvailable()).toBe(1400);
    await g.expectBilledAsGranted(3);
    await expectLedgerConsistent(server.deps.database);
  });

  it("plan raise: its invoice's payment failed that way; once Stripe works again the settling loop pays it, grants it once and raises Stripe's quantity", async () => {
    const g = await standardGroup("monthly", 2);
    const subscriptionId = g.subscriptionId!;

    const raise = await raiseWithSavedError(g, PAY);
    // Its invoice is at Stripe: a pending payment (raise-refused.test.ts), which the settling loop completes.
    expect([raise.status, raise.json.status]).toEqual([202, "pending"]);
    const purchaseId = (await q<{ id: string }>("select id from purchases where group_id = $1 and raises_plan", [g.groupId])).rows[0]!.id;
    const purchase = async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${purchaseId}`)).json as { status: string };
    expect(await purchase()).toMatchObject({ status: "pending" });

    // Stripe works again; the settling loop's next round continues the raise with its keys.
    await settleAt(server, new Date(Date.now() + 60_000));
    expect(await purchase()).toMatchObject({ status: "completed" });
    const plan = (await q<{ quantity: number }>("select quantity from plans where group_id = $1", [g.groupId])).rows[0]!;
    expect(plan.quantity).toBe(3);
    const sub = await stripeApi<{ items: { data: { quantity: number }[] } }>(server, `/v1/subscriptions/${subscriptionId}`);
    expect(sub.items.data[0]!.quantity).toBe(3);
    await g.expectBilledAsGranted(2); // the Checkout's first period and the raise, each once
    await expectLedgerConsistent(server.deps.database);
  });

  it("plan raise: adding its invoice's item failed that way; once Stripe works again the settling loop adds it once, pays it and grants it once", async () => {
    const g = await standardGroup("monthly", 2);
    const raise = await raiseWithSavedError(g, { method: "POST", path: /^\/v1\/invoiceitems$/ });
    // Its draft is at Stripe: a pending payment, which the settling loop completes.
    expect([raise.status, raise.json.status]).toEqual([202, "pending"]);
    const purchase = async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${raise.json.purchaseId}`)).json as { status: string };
    await settleAt(server, new Date(Date.now() + 60_000));
    expect(await purchase(), "the raise's item step replayed the same 500").toMatchObject({ status: "completed" });
    await settleAt(server, new Date(Date.now() + 120_000)); // a later round adds nothing
    const own = (await g.invoices()).filter((i) => i.metadata.purchaseId === raise.json.purchaseId);
    expect(own.map((i) => [i.status, i.amount_paid])).toEqual([["paid", server.config.PRICE_MONTHLY]]); // one item, billed once
    await g.expectBilledAsGranted(2); // the Checkout's first period and the raise, each once
    await expectLedgerConsistent(server.deps.database);
  });

  it("plan quantity sync: the subscription update failed that way; once Stripe works again the settling loop sets Stripe's quantity to the plan's (each sync sends its own key)", async () => {
    const g = await standardGroup("monthly", 2);
    const subscriptionId = g.subscriptionId!;
    const stripeQuantity = async () => (await stripeApi<{ items: { data: { quantity: number }[] } }>(server, `/v1/subscriptions/${subscriptionId}`)).items.data[0]!.quantity;

    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/subscriptions\/[^/]+$/, mode: "error-saved" });
    try {
      const raise = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
      expect([raise.status, raise.json.status]).toEqual([200, "completed"]); // paid and granted; Stripe's quantity waits
      expect(await stripeQuantity()).toBe(2);
    } finally {
      server.stripe.setRequestFault(null);
    }
    await settleAt(server, new Date(Date.now() + 60_000));
    expect(await stripeQuantity()).toBe(3);
    expect((await q<{ quantity: number; quantity_synced: boolean }>("select quantity, quantity_synced from plans where group_id = $1", [g.groupId])).rows[0]).toEqual({
      quantity: 3,
      quantity_synced: true,
    });
    await g.expectBilledAsGranted(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("refund: a raise paid after its plan was cancelled, whose refund failed that way, is refunded whole and once when Stripe redelivers its invoice.paid", async () => {
    const g = await standardGroup("monthly", 2);
    const subscriptionId = g.subscriptionId!;
    // The raise goes unanswered (pending, 202) and the plan ends meanwhile.
    server.stripe.setFault("hang");
    let raise;
    try {
      raise = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
    } finally {
      server.stripe.setFault("none");
    }
    expect([raise.status, raise.json.status]).toEqual([202, "pending"]);
    await fetch(`${server.stripe.url}/v1/subscriptions/${subscriptionId}`, { method: "DELETE", headers: { authorization: "Bearer sk_test_x" } });
    await eventually(async () => (await q<{ status: string }>("select status from plans where group_id = $1", [g.groupId])).rows[0]?.status === "canceled");
    const grantsBefore = await grantCount(server, g.groupId);
    const from = server.stripe.events().length;

    // The settling loop pays the raise's invoice, finds the plan ended and refunds: the refund fails
    // with a 500 Stripe saved. Its invoice.paid is held back, to be delivered once Stripe works again.
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/refunds$/, mode: "error-saved" });
    let events;
    try {
      events = await holdStripeEvents(server, () => settleAt(server, new Date(Date.now() + 60_000)));
    } finally {
      server.stripe.setRequestFault(null);
    }
    const purchase = (await q<{ status: string; failure_reason: string; i: string }>("select status, failure_reason, stripe_invoice_id as i from purchases where id = $1", [raise.json.purchaseId])).rows[0]!;
    expect(purchase).toMatchObject({ status: "failed", failure_reason: expect.stringContaining("refunded") as string });
    const refunds = () => refundAmountsSince(server, from);
    expect(refunds()).toEqual([]);

    // Stripe redelivers invoice.paid: the refund is made, whole, and a second delivery refunds nothing more.
    const paid = events.find((e) => e.type === "invoice.paid" && (e.data.object as { id: string }).id === purchase.i)!;
    expect((await postStripeEvent(server, paid)).status).toBe(200);
    expect((await postStripeEvent(server, paid)).status).toBe(200);
    expect(refunds()).toEqual([800]);
    expect(await grantCount(server, g.groupId)).toBe(grantsBefore);
    const charged = (await g.invoices()).filter((i) => i.status === "paid").reduce((sum, i) => sum + i.amount_paid, 0);
    expect(charged - refunds().reduce((a, b) => a + b, 0)).toBe(await g.completedAmount()); // billed, less refunds == granted
    await expectLedgerConsistent(server.deps.database);
  });
});
