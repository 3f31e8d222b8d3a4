import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { eventually, OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

// A declined auto top-up does not hold its group's delete back (its invoice may stay open for ever),
// so its invoice can be paid after the group is gone: that payment buys nothing anyone can use and
// is given back, once, whichever way it is heard of (the webhook, its replays, the read-back loop).
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

/** A group whose declined top-up left an open invoice, deleted by the platform (nothing else at stake). */
async function deletedWithOpenTopUpInvoice() {
  const f = await createOrgFixture(server.db, { partnerManaged: false, websites: 1 });
  const groupId = f.groupA.id;
  const org = `org_${groupId.slice(0, 8)}`;
  const grp = `grp_${groupId.slice(0, 8)}`;
  await q("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
  await q("update groups set external_id = $2 where id = $1", [groupId, grp]);
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  await buyThroughCheckout(server, admin, groupId, "one_time", 1);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  await server.stripe.declineNextCharges(customer, 1);
  expect((await admin.put(`/api/groups/${groupId}/billing/settings`, { autoTopUp: { threshold: 500, packages: 2, maxPerMonth: 3 } })).status).toBe(200);
  const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, f.org.id)}` });
  // The pool spent to 0: the top-up's charge is declined, its invoice stays open.
  expect((await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 1000, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
  const purchase = await eventually(
    async () => (await q<{ id: string; invoice: string | null }>("select id, stripe_invoice_id as invoice from purchases where group_id = $1 and status = 'failed'", [groupId])).rows[0],
  );
  expect(purchase.invoice).toBeTruthy();
  const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
  // Its website moved out of the group first, as the platform must before a group's delete.
  const site = f.websitesA[0]!;
  await q("update websites set external_id = $2 where id = $1", [site.id, `site_${site.id.slice(0, 8)}`]);
  const moved = await op.put(`/api/operator/websites/site_${site.id.slice(0, 8)}`, { orgExternalId: org, groupExternalId: null, name: "Moved", url: "https://moved.example" });
  expect(moved.status).toBe(200);
  const deleted = await op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
  expect([deleted.status, deleted.json]).toEqual([204, null]);
  const pay = async () => (await fetch(`${server.stripe.url}/v1/invoices/${purchase.invoice}/pay`, { method: "POST", headers: { authorization: "Bearer sk_test_x" } }).then((r) => r.json())) as { status: string };
  const refunds = () =>
    server.stripe.events().filter((e) => e.type === "refund.created" && (e.data.object as { metadata?: Record<string, string> }).metadata?.purchaseId === purchase.id);
  const credits = async () => (await q<{ n: number }>("select coalesce(sum(remaining), 0)::int as n from credit_grants where group_id = $1", [groupId])).rows[0]!.n;
  const purchaseRow = async () => (await q<{ status: string; reason: string | null }>("select status, failure_reason as reason from purchases where id = $1", [purchase.id])).rows[0]!;
  return { groupId, purchase, pay, refunds, credits, purchaseRow };
}

describe("a declined top-up's invoice paid after its group was deleted", () => {
  it("is refunded once and grants nothing, however often its webhook comes", async () => {
    const g = await deletedWithOpenTopUpInvoice();
    expect((await g.pay()).status).toBe("paid");
    await eventually(async () => g.refunds().length === 1 && (await g.purchaseRow()).reason?.includes("refunded") === true);
    expect(await g.credits(), "credits granted to the deleted group for a payment taken after its delete").toBe(0);
    expect(await g.purchaseRow()).toEqual({ status: "failed", reason: "The group was deleted before this payment arrived, so nothing was added; the payment was refunded." });
    const { rows } = await q<{ amount: number }>("select amount::int as amount from purchases where id = $1", [g.purchase.id]);
    expect((g.refunds()[0]!.data.object as { amount: number }).amount, "the whole payment given back").toBe(rows[0]!.amount);

    // Stripe sends the invoice's events again; the read-back loop looks too: still one refund.
    const paidEvents = server.stripe.events().filter((e) => e.type === "invoice.paid" && (e.data.object as { id: string }).id === g.purchase.invoice);
    for (const e of paidEvents) await server.stripe.redeliver(e.id);
    await server.billing.settlePendingPurchases();
    await new Promise((ok) => setTimeout(ok, 300));
    expect(g.refunds()).toHaveLength(1);
    expect(await g.credits()).toBe(0);
  });

  it("heard of only by the read-back loop (its webhook lost), is refunded once too", async () => {
    const g = await deletedWithOpenTopUpInvoice();
    server.stripe.setWebhookUrl(null);
    try {
      expect((await g.pay()).status).toBe("paid");
    } finally {
      server.stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
    }
    await server.billing.settlePendingPurchases();
    await eventually(() => Promise.resolve(g.refunds().length === 1));
    await server.billing.settlePendingPurchases();
    expect(g.refunds()).toHaveLength(1);
    expect(await g.credits()).toBe(0);
    expect((await g.purchaseRow()).reason).toMatch(/refunded/);
  });
});
