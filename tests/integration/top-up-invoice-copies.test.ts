import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billedAndGranted, buyThroughCheckout, grantCount, payInvoiceCopy, refundsOfInvoice, stripeApi, topUpsOf, webhookHandled } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// An auto top-up's payment is its own invoice, the one its idempotency key created (credits.md "Who
// owns what"), whether it is charged at once, retried after a lost answer, or declined and paid later
// on its hosted page. Another invoice naming the purchase in its metadata (the dashboard's "Duplicate
// invoice" copies it) must grant nothing, or paying both bills the customer twice for one grant; and
// since it bought nothing, its payment is given back, whatever became of the top-up.
const env = { CONTROLS_POLL_MS: "50" };
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(env);
});
afterAll(() => server?.close());

interface StripeInvoice {
  id: string;
  status: string;
  metadata: Record<string, string>;
}
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string, body?: Record<string, string>) => stripeApi<T>(server, path, body);

/** A standard group with 1,000 credits bought through Checkout (its card saved), auto top-up at 500. */
async function lowPoolWithAutoTopUp(packages: number) {
  const f = await createOrgFixture(server.db, { partnerManaged: false, websites: 2 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, "one_time", 1);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  const settings = `/api/groups/${groupId}/billing/settings`;
  expect((await admin.put(settings, { autoTopUp: { threshold: 500, packages, maxPerMonth: 3 } })).status).toBe(200);
  const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, f.org.id)}` });
  /** 1,000 -> 400 in six uses of 100 credits: the pool crosses the threshold. */
  const useDown = async () => {
    for (let i = 0; i < 6; i++) {
      expect((await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 100, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
    }
  };
  const topUp = () => topUpsOf(server, groupId);
  /**
   * The pool crosses the threshold while Stripe carries requests out but their answers never come: the
   * top-up's invoice is created at Stripe, its outcome unknown. Resolves once that first attempt is over
   * (its lease, 30 s, cut to the retry wait, 5 s), with the top-up's invoice as Stripe has it.
   */
  const crossWhileAnswersAreLost = async () => {
    server.stripe.setFault("lose-answers");
    try {
      await useDown();
      await eventually(async () => {
        const t = (await topUp())[0];
        return t?.status === "pending" && t.attempts === 1 && t.retry_in_ms !== null && t.retry_in_ms < 10_000;
      }, 20_000);
    } finally {
      server.stripe.setFault("none");
    }
    const t = (await topUp())[0]!;
    const own = (await invoicesAtStripe()).find((i) => i.metadata.autoTopUpId === t.id);
    expect(own, "the top-up's invoice did not reach Stripe").toBeDefined();
    return { t, own: own! };
  };
  const invoicesAtStripe = async () => (await stripe<{ data: StripeInvoice[] }>(`/v1/invoices?customer=${customer}&limit=100`)).data;
  const poolAvailable = async () => (await admin.get(settings)).json.poolAvailable as number;
  return { f, admin, groupId, customer, settings, useDown, topUp, crossWhileAnswersAreLost, poolAvailable };
}

/** Billed == granted for the group's customer, counting refunds (see billedAndGranted). */
async function expectBilledAsGranted(g: { groupId: string; customer: string }, billed: number) {
  const money = await billedAndGranted(server, g, server.config.PRICE_ONE_TIME);
  expect(money.billed, `billed ${money.billed}, granted ${money.granted}`).toBe(money.granted);
  expect(money.billed).toBe(billed);
}

describe("a Stripe auto top-up is granted only for its own invoice", () => {
  it("its first answer lost, a copy of its invoice paid while the retry is under way grants nothing and is refunded; the retry charges its own invoice, granted once", async () => {
    const g = await lowPoolWithAutoTopUp(1);
    const price = server.config.PRICE_ONE_TIME;
    const { own } = await g.crossWhileAnswersAreLost();
    // The retry is held at Stripe as it finalizes the top-up's own invoice; meanwhile someone duplicates
    // that invoice in the dashboard and the customer pays the copy.
    server.stripe.setRequestFault({ method: "POST", path: new RegExp(`^/v1/invoices/${own.id}/finalize$`), mode: "hold" });
    let copy: string;
    try {
      await eventually(() => Promise.resolve(server.stripe.heldRequests() > 0), 20_000);
      copy = await payInvoiceCopy(server, g.customer, own, price);
      expect(await g.poolAvailable(), "a copy of the top-up's invoice granted its credits").toBe(400);
      expect(await refundsOfInvoice(server, copy), "the copy, which bought nothing, was not refunded").toEqual([price]);
    } finally {
      server.stripe.setRequestFault(null);
    }
    await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);

    // The retry charged the top-up's own invoice, and that is what was granted, once.
    expect(await g.topUp()).toMatchObject([{ status: "succeeded", purchase_status: "completed", own: own.id }]);
    expect((await stripe<StripeInvoice>(`/v1/invoices/${own.id}`)).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", own.id);
    expect(await g.poolAvailable()).toBe(1400);
    expect(await grantCount(server, g.groupId)).toBe(2);
    await expectBilledAsGranted(g, 2 * price);
    expect(await refundsOfInvoice(server, copy)).toEqual([price]);
    await expectLedgerConsistent(server.deps.database);
  });

  it("its first answer lost, then auto top-up turned off: the retry does not take a paid copy of its invoice for its charge; nothing granted, the copy refunded, its own invoice deleted", async () => {
    const g = await lowPoolWithAutoTopUp(1);
    const price = server.config.PRICE_ONE_TIME;
    const { own } = await g.crossWhileAnswersAreLost();
    expect((await g.admin.put(g.settings, { autoTopUp: null })).json.autoTopUp).toBeNull();
    const copy = await payInvoiceCopy(server, g.customer, own, price);
    expect(await g.poolAvailable(), "a copy of the top-up's invoice granted its credits").toBe(400);

    // The retry, minutes later by the server's clock (past the settle delay), looks the earlier charge up.
    server.clock.set(Date.now() + 5 * 60_000);
    try {
      await eventually(async () => (await g.topUp())[0]?.status !== "pending", 20_000);
    } finally {
      server.clock.reset();
    }
    expect(await g.poolAvailable(), "the retry took a copy of its invoice for the top-up's charge").toBe(400);
    expect(await g.topUp()).toMatchObject([{ status: "failed", purchase_status: "failed" }]);
    // Its own draft is deleted, so nobody can finalize and collect it; the copy is given back.
    expect((await fetch(`${server.stripe.url}/v1/invoices/${own.id}`, { headers: { authorization: "Bearer sk_test_x" } })).status).toBe(404);
    expect(await refundsOfInvoice(server, copy), "the copy, which bought nothing, was not refunded").toEqual([price]);
    expect(await grantCount(server, g.groupId)).toBe(1);
    await expectBilledAsGranted(g, price);
    await expectLedgerConsistent(server.deps.database);
  });

  it("completed: a copy of its invoice paid later grants nothing more and is refunded", async () => {
    const g = await lowPoolWithAutoTopUp(1);
    const price = server.config.PRICE_ONE_TIME;
    await g.useDown();
    await eventually(async () => (await g.topUp())[0]?.status === "succeeded");
    const t = (await g.topUp())[0]!;
    const ofTopUp = (await stripe<{ data: StripeInvoice[] }>(`/v1/invoices?customer=${g.customer}&limit=100`)).data.filter((i) => i.metadata.autoTopUpId === t.id);
    expect(ofTopUp.map((i) => i.status)).toEqual(["paid"]);
    const own = ofTopUp[0]!;
    await webhookHandled(server, "invoice.paid", own.id);
    expect(await g.poolAvailable()).toBe(1400);

    const copy = await payInvoiceCopy(server, g.customer, own, price);
    expect(await g.poolAvailable(), "a copy of the top-up's invoice granted its credits").toBe(1400);
    expect(await refundsOfInvoice(server, copy), "the copy, which bought nothing, was not refunded").toEqual([price]);
    expect(await grantCount(server, g.groupId)).toBe(2);
    await expectBilledAsGranted(g, 2 * price);
    await expectLedgerConsistent(server.deps.database);
  });

  it("declined: a copy of its invoice paid first grants nothing and is refunded, and its own invoice paid after grants once", async () => {
    const g = await lowPoolWithAutoTopUp(2);
    await server.stripe.declineNextCharges(g.customer, 1);
    await g.useDown();
    const failed = await eventually(async () => {
      const { rows } = await q<{ id: string; stripe_invoice_id: string | null; amount: string }>(
        "select id, stripe_invoice_id, amount from purchases where group_id = $1 and idempotency_key like 'auto-top-up:%' and status = 'failed'",
        [g.groupId],
      );
      return rows[0]?.stripe_invoice_id ? rows[0] : null;
    });
    const own = await stripe<StripeInvoice>(`/v1/invoices/${failed.stripe_invoice_id}`);
    const amount = Number(failed.amount);

    const copy = await payInvoiceCopy(server, g.customer, own, amount);
    expect(await g.poolAvailable(), "a copy of the top-up's invoice granted its credits").toBe(400);
    expect(await refundsOfInvoice(server, copy), "the copy, which bought nothing, was not refunded").toEqual([amount]);

    // The customer pays the top-up's own invoice on its hosted page: that is the purchase's payment.
    expect((await stripe<{ status: string }>(`/v1/invoices/${own.id}/pay`, {})).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", own.id);
    expect(await g.poolAvailable(), "the top-up's own invoice, paid, was not granted").toBe(2400);
    const { rows: grants } = await q<{ n: number }>("select count(*)::int as n from credit_grants where purchase_id = $1", [failed.id]);
    expect(grants[0]!.n).toBe(1);
    await expectBilledAsGranted(g, 3 * server.config.PRICE_ONE_TIME);
    expect(await refundsOfInvoice(server, copy)).toEqual([amount]);
    await expectLedgerConsistent(server.deps.database);
  });
});
