import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCount, postStripeEvent, standardGroupWithPurchase, stripeApi, webhookHandled } from "../support/billing.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// A declined plan raise is over: the customer is told 402 and its invoice is voided (raise-plan.ts
// voidDeclinedRaise). When Stripe refuses the void, the answer is still 402 with nothing granted;
// the invoice stays open, and if the customer pays it after all (its hosted page), that payment is
// the raise's own and is granted once: billed == granted.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string, body?: Record<string, string>) => stripeApi<T>(server, path, body);

describe("a declined Stripe plan raise whose void Stripe refused", () => {
  it("answers 402 and grants nothing; its invoice, paid later by the customer, is granted once: billed == granted", async () => {
    const { admin, groupId, customer, subscriptionId } = await standardGroupWithPurchase(server, "monthly", 2);
    const grantsBefore = await grantCount(server, groupId);

    await server.stripe.declineNextCharges(customer, 1);
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/invoices\/[^/]+\/void$/, mode: "error" }); // every void refused, the SDK's retry too
    const r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 1 }).finally(() => server.stripe.setRequestFault(null));
    expect([r.status, r.json.error?.code]).toEqual([402, "payment_failed"]);
    const purchase = async () =>
      (await q<{ status: string; i: string }>("select status, stripe_invoice_id as i from purchases where group_id = $1 and raises_plan", [groupId])).rows[0]!;
    const { i: invoiceId } = await purchase();
    expect((await stripe<{ status: string }>(`/v1/invoices/${invoiceId}`)).status, "the void was not refused").toBe("open");
    expect(await grantCount(server, groupId)).toBe(grantsBefore);
    expect((await admin.get(`/api/groups/${groupId}/billing`)).json.plan).toMatchObject({ packages: 2 });

    // The customer pays it on its hosted page: the raise's own invoice, granted once, however often its events come.
    expect((await stripe<{ status: string }>(`/v1/invoices/${invoiceId}/pay`, {})).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", invoiceId);
    for (const e of server.stripe.events().filter((x) => x.type === "invoice.paid" && (x.data.object as { id: string }).id === invoiceId)) {
      expect((await postStripeEvent(server, { ...e, id: `${e.id}_again` })).status).toBe(200);
    }
    expect((await purchase()).status).toBe("completed");
    expect(await grantCount(server, groupId)).toBe(grantsBefore + 1);
    await eventually(async () => (await stripe<{ items: { data: { quantity: number }[] } }>(`/v1/subscriptions/${subscriptionId}`)).items.data[0]!.quantity === 3);
    expect((await admin.get(`/api/groups/${groupId}/billing`)).json.plan).toMatchObject({ packages: 3 });

    const paid = (await stripe<{ data: { status: string; amount_paid: number }[] }>(`/v1/invoices?customer=${customer}&limit=100`)).data.filter((i) => i.status === "paid");
    const billed = paid.reduce((s, i) => s + i.amount_paid, 0);
    const { rows } = await q<{ n: number }>("select coalesce(sum(granted), 0)::int as n from credit_grants where group_id = $1", [groupId]);
    expect(billed, "billed != granted").toBe((rows[0]!.n / server.config.CREDITS_PER_PACKAGE) * server.config.PRICE_MONTHLY);
    await expectLedgerConsistent(server.deps.database);
  });
});
