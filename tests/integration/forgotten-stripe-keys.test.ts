import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleAt, standardGroupAtStripe, stripeApi, withAutoTopUp, type StripeInvoiceRow } from "../support/billing.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// Stripe remembers an idempotency key for 24 hours only (https://docs.stripe.com/idempotency). A
// purchase whose own invoice is charged step by step (a plan raise, a Stripe auto top-up) and is still
// pending a day later (a long outage) must go on with the invoice it recorded: its key, forgotten,
// would make another draft, or add a second line to its draft (billing twice for one grant). The
// purchase is charged once, on its own invoice, and no stray draft is left at the customer.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const PAY = { method: "POST", path: /^\/v1\/invoices\/[^/]+\/pay$/ } as const;
const FINALIZE = { method: "POST", path: /^\/v1\/invoices\/[^/]+\/finalize$/ } as const;

/** A standard group (its card saved at Checkout) with its Stripe customer. */
async function standardGroup(type: "one_time" | "monthly", quantity: number) {
  const g = await standardGroupAtStripe(server, type, quantity);
  /** The purchase's own invoice: one line, paid; no draft left at the customer. */
  const expectOneLinePaid = async (invoiceId: string) => {
    const own = await stripeApi<StripeInvoiceRow>(server, `/v1/invoices/${invoiceId}`);
    expect([own.status, own.lines.data.length]).toEqual(["paid", 1]);
    expect((await g.invoices("draft")).map((i) => i.id)).toEqual([]);
  };
  return { ...g, expectOneLinePaid };
}

describe("a purchase pending for over a day, its idempotency keys forgotten by Stripe", () => {
  /**
   * 1,000 credits bought through Checkout and auto top-up at 500; spending 600 starts a top-up, whose
   * step `fault` fails (Stripe's 500, nothing saved) until Stripe has forgotten the top-up's keys.
   */
  async function topUpFailingAt(fault: { method: "POST"; path: RegExp }) {
    const g = await standardGroup("one_time", 1);
    const { spend, topUps, poolAvailable, expectToppedUpOnce } = await withAutoTopUp(server, g);
    server.stripe.setRequestFault({ ...fault, mode: "error" });
    try {
      await spend(600); // 1,000 -> 400: the top-up starts, its draft is recorded, and its step fails
      await eventually(async () => {
        const t = (await topUps())[0];
        return t?.status === "pending" && t.attempts >= 1 && t.own !== null && t.retry_in_ms !== null && t.retry_in_ms < 10_000;
      });
      server.stripe.forgetIdempotencyKeys(); // a day later
    } finally {
      server.stripe.setRequestFault(null);
    }
    const own = (await topUps())[0]!.own!;
    return { g, own, spend, topUps, poolAvailable, expectToppedUpOnce };
  }

  it("auto top-up: its payment failed until its keys were forgotten; the retry pays its recorded invoice once, leaves no stray draft, and the next top-up starts", async () => {
    const { g, own, spend, topUps, poolAvailable, expectToppedUpOnce } = await topUpFailingAt(PAY);
    expect((await g.invoices()).filter((i) => i.metadata.autoTopUpId).map((i) => [i.id, i.status])).toEqual([[own, "open"]]);

    await expectToppedUpOnce();
    expect(await topUps()).toMatchObject([{ status: "succeeded", purchase_status: "completed", own }]);
    expect(await poolAvailable()).toBe(1400);
    await g.expectOneLinePaid(own);
    expect((await g.invoices()).filter((i) => i.metadata.autoTopUpId).map((i) => [i.id, i.status])).toEqual([[own, "paid"]]);
    await g.expectBilledAsGranted(2);

    // One top-up at a time: the next one starts once this one is over, and is bought once.
    await spend(1000); // 1,400 -> 400
    await eventually(async () => (await topUps())[1]?.status === "succeeded", 20_000);
    expect(await poolAvailable()).toBe(1400);
    await g.expectBilledAsGranted(3);
    expect((await g.invoices("draft")).map((i) => i.id)).toEqual([]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("auto top-up: its item added but finalizing failed until its keys were forgotten; the retry finalizes and pays its invoice with its one line", async () => {
    const { g, own, topUps, poolAvailable, expectToppedUpOnce } = await topUpFailingAt(FINALIZE);
    const draft = await stripeApi<StripeInvoiceRow>(server, `/v1/invoices/${own}`);
    expect([draft.status, draft.lines.data.length]).toEqual(["draft", 1]); // its item is there

    await expectToppedUpOnce();
    expect(await topUps()).toMatchObject([{ status: "succeeded", purchase_status: "completed", own }]);
    expect(await poolAvailable()).toBe(1400);
    await g.expectOneLinePaid(own);
    await g.expectBilledAsGranted(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("plan raise: its payment failed until its keys were forgotten; the settling loop pays its recorded invoice once, grants it once and leaves no stray draft", async () => {
    const g = await standardGroup("monthly", 2);
    server.stripe.setRequestFault({ ...PAY, mode: "error" });
    let raise;
    try {
      raise = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
      expect([raise.status, raise.json.status]).toEqual([202, "pending"]);
      server.stripe.forgetIdempotencyKeys(); // a day later
    } finally {
      server.stripe.setRequestFault(null);
    }
    const purchaseId = raise.json.purchaseId as string;
    const { own } = (await q<{ own: string | null }>("select stripe_invoice_id as own from purchases where id = $1", [purchaseId])).rows[0]!;
    expect(own).not.toBeNull();
    const purchase = async () => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${purchaseId}`)).json as { status: string };
    expect(await purchase()).toMatchObject({ status: "pending" });

    // Stripe works again; the settling loop's next round continues the raise on its recorded invoice.
    await settleAt(server, new Date(Date.now() + 60_000));
    expect(await purchase()).toMatchObject({ status: "completed" });
    expect((await q<{ quantity: number }>("select quantity from plans where group_id = $1", [g.groupId])).rows[0]!.quantity).toBe(3);
    await g.expectOneLinePaid(own!);
    expect((await g.invoices()).filter((i) => i.metadata.purchaseId === purchaseId).map((i) => [i.id, i.status])).toEqual([[own, "paid"]]);
    // A later round has nothing more to charge.
    await settleAt(server, new Date(Date.now() + 120_000));
    await g.expectBilledAsGranted(2); // the Checkout's first period and the raise, each once
    expect((await g.invoices("draft")).map((i) => i.id)).toEqual([]);
    await expectLedgerConsistent(server.deps.database);
  });
});
