import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, postStripeEvent } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// A declined Stripe renewal leaves its invoice open; dunning (or the customer) then ends the
// subscription, and the plan grants nothing more (credits.md). The open invoice can still be paid on
// its hosted page: that payment bought nothing, so it is refunded, once, as a raise paid too late is.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string, method = "GET") => fetch(`${server.stripe.url}${path}`, { method, headers: { authorization: "Bearer sk_test_x" } }).then((r) => r.json() as Promise<T>);
const planStatus = async (groupId: string) => (await q<{ s: string }>("select status as s from plans where group_id = $1", [groupId])).rows[0]!.s;

/** A group on a Stripe plan of 2 packages whose renewal was declined: the plan past due, the renewal's invoice open. */
async function pastDueRenewal() {
  const f = await createOrgFixture(server.db, {});
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, "monthly", 2);
  const { s: sub, c: customer } = (
    await q<{ s: string; c: string }>("select p.stripe_subscription_id as s, b.stripe_customer_id as c from plans p join billing_profiles b using (group_id) where p.group_id = $1", [groupId])
  ).rows[0]!;
  await server.stripe.declineNextCharges(customer, 1);
  await server.stripe.advanceSubscription(sub);
  await eventually(async () => (await planStatus(groupId)) === "past_due");
  return { admin, groupId, sub, customer };
}
describe("a declined renewal whose subscription ended", () => {
  it("is refunded when its invoice is paid after the end, once however often the event comes, and grants nothing", async () => {
    const { groupId, sub, customer } = await pastDueRenewal();
    await stripe(`/v1/subscriptions/${sub}`, "DELETE");
    await eventually(async () => (await planStatus(groupId)) === "canceled");
    const grantsBefore = (await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n;

    const open = (await stripe<{ data: { id: string }[] }>(`/v1/invoices?customer=${customer}&status=open`)).data;
    expect(open).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100)); // paid a moment after the end (Stripe's times are in seconds)
    const from = server.stripe.events().length;
    expect((await stripe<{ status: string }>(`/v1/invoices/${open[0]!.id}/pay`, "POST")).status).toBe("paid");
    const refunds = () => server.stripe.events().slice(from).filter((e) => e.type === "refund.created");
    await eventually(() => Promise.resolve(refunds().length === 1));

    // The paid event again (Stripe retries, or a replay): the same refund, nothing more.
    const paid = server.stripe.events().slice(from).find((e) => e.type === "invoice.paid")!;
    const replay = { ...paid, id: `${paid.id}_replay` };
    const r = await postStripeEvent(server, replay);
    expect(r.status).toBe(200);
    expect(refunds(), "a renewal paid after its plan ended was billed and neither granted nor refunded").toHaveLength(1);
    expect((refunds()[0]!.data.object as { amount: number }).amount).toBe(1600);
    expect((await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n).toBe(grantsBefore);
    expect(await planStatus(groupId)).toBe("canceled");
    await expectLedgerConsistent(server.deps.database);
  });
});

describe("a declined renewal of a plan replaced by a new one", () => {
  it("is refunded when its invoice is paid after its subscription ended and the admin bought a new plan, and the new plan is untouched", async () => {
    const { admin, groupId, sub, customer } = await pastDueRenewal();
    await stripe(`/v1/subscriptions/${sub}`, "DELETE");
    await eventually(async () => (await planStatus(groupId)) === "canceled");
    const open = (await stripe<{ data: { id: string }[] }>(`/v1/invoices?customer=${customer}&status=open`)).data;
    expect(open).toHaveLength(1);

    // The admin buys a new plan; the old plan's invoice is paid on its hosted page after that.
    await buyThroughCheckout(server, admin, groupId, "monthly", 3);
    const newPlan = (await q<{ s: string; quantity: number }>("select stripe_subscription_id as s, quantity from plans where group_id = $1", [groupId])).rows[0]!;
    expect(newPlan.s).not.toBe(sub);
    const grantsBefore = (await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n;
    await new Promise((r) => setTimeout(r, 1100)); // paid a moment after the end (Stripe's times are in seconds)
    const from = server.stripe.events().length;
    expect((await stripe<{ status: string }>(`/v1/invoices/${open[0]!.id}/pay`, "POST")).status).toBe("paid");
    const refunds = () => server.stripe.events().slice(from).filter((e) => e.type === "refund.created");
    await eventually(() => Promise.resolve(refunds().length === 1)).catch(() => undefined);
    expect(refunds(), "the old plan's renewal, paid after a new plan replaced it, was billed and neither granted nor refunded").toHaveLength(1);
    expect((refunds()[0]!.data.object as { amount: number }).amount).toBe(1600);
    expect((await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n).toBe(grantsBefore);
    expect((await q<{ s: string; quantity: number; status: string }>("select stripe_subscription_id as s, quantity, status from plans where group_id = $1", [groupId])).rows[0]).toEqual({
      s: newPlan.s,
      quantity: 3,
      status: "active",
    });
    await expectLedgerConsistent(server.deps.database);
  });
});

describe("a declined renewal paid only after its period ended", () => {
  it("is refunded, since its period's credits can no longer be spent; the later period's renewal is granted as usual", async () => {
    const { groupId, sub, customer } = await pastDueRenewal();
    const declined = (await stripe<{ data: { id: string }[] }>(`/v1/invoices?customer=${customer}&status=open`)).data;
    expect(declined).toHaveLength(1);
    // The next period comes (Stripe leaves the subscription past due and renews it; this renewal is paid).
    const periodEnd = async () => (await q<{ e: Date }>("select current_period_end as e from plans where group_id = $1", [groupId])).rows[0]!.e.getTime();
    const declinedEnd = await periodEnd();
    await server.stripe.advanceSubscription(sub);
    // Active again, and in the new period (its subscription.updated may come before its paid invoice).
    await eventually(async () => (await planStatus(groupId)) === "active" && (await periodEnd()) > declinedEnd);
    const grantsBefore = (await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n;

    // Our clock where Stripe's test clock is: the declined renewal's period is over, the next one current.
    const { e: currentEnd } = (await q<{ e: Date }>("select current_period_end as e from plans where group_id = $1", [groupId])).rows[0]!;
    server.clock.set(new Date(currentEnd.getTime() - 86400_000));
    const from = server.stripe.events().length;
    try {
      expect((await stripe<{ status: string }>(`/v1/invoices/${declined[0]!.id}/pay`, "POST")).status).toBe("paid");
      // While our clock is still there: the webhook (retried by the emulator if it failed) or the read-back loop.
      await eventually(() => Promise.resolve(refunds().length === 1), 20_000).catch(() => undefined);
    } finally {
      server.clock.reset();
    }
    function refunds() {
      return server.stripe.events().slice(from).filter((e) => e.type === "refund.created");
    }
    expect(refunds(), "a renewal paid after its period ended was billed and neither granted nor refunded").toHaveLength(1);
    expect((await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n).toBe(grantsBefore);
    expect(await planStatus(groupId)).toBe("active");
    await expectLedgerConsistent(server.deps.database);
  });
});
