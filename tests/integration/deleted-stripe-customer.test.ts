import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, holdStripeEvents } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The group's Stripe customer deleted at Stripe (in its dashboard): Stripe refuses everything that
// names it, and no retry helps. The admin is told so (409 conflict, api.md) instead of a 500, and
// nothing changes in our database: no purchase left pending, nothing granted, the plan as it was.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

async function group() {
  const f = await createOrgFixture(server.db, { partnerManaged: false });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  return { f, admin, groupId, customer };
}
type G = Awaited<ReturnType<typeof group>>;

/** Deleted as in Stripe's dashboard. */
async function deleteCustomerAtStripe(g: G) {
  const res = await fetch(`${server.stripe.url}/v1/customers/${g.customer}`, { method: "DELETE", headers: { authorization: "Bearer sk_test_x" } });
  expect(await res.json()).toEqual({ id: g.customer, object: "customer", deleted: true });
}

/** Everything of the group's billing in our database. */
async function billingRows(g: G) {
  const rows = async (table: string) => (await q<Record<string, unknown>>(`select * from ${table} t where group_id = $1 order by t::text`, [g.groupId])).rows;
  return { profiles: await rows("billing_profiles"), purchases: await rows("purchases"), plans: await rows("plans"), grants: await rows("credit_grants") };
}

const purchase = (g: G, body: Record<string, unknown>, key?: string) =>
  g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, body, key ? { "idempotency-key": key } : {});

describe("a group whose Stripe customer was deleted at Stripe", () => {
  it("buying one-time or a first monthly plan answers 409 saying why, twice with the same key, and changes nothing", async () => {
    const g = await group();
    await deleteCustomerAtStripe(g);
    const before = await billingRows(g);
    for (const body of [{ type: "one_time", quantity: 2 }, { type: "monthly", quantity: 1 }]) {
      for (let i = 0; i < 2; i++) {
        const r = await purchase(g, body, `deleted-customer-${body.type}`);
        expect([r.status, r.json.error?.code], JSON.stringify(r.json)).toEqual([409, "conflict"]);
        expect(r.json.error.message).toMatch(/deleted/);
      }
    }
    expect(await billingRows(g)).toEqual(before);
  });

  it("raising a plan whose deletion has not reached us yet answers 409 and changes nothing; the settling loop has nothing to retry", async () => {
    const g = await group();
    await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
    // Stripe ends the subscription with the customer; its events have not arrived yet.
    await holdStripeEvents(server, () => deleteCustomerAtStripe(g));
    const before = await billingRows(g);
    const r = await purchase(g, { type: "monthly", quantity: 1 });
    expect([r.status, r.json.error?.code], JSON.stringify(r.json)).toEqual([409, "conflict"]);
    expect(r.json.error.message).toMatch(/deleted/);
    await server.billing.settlePendingPurchases();
    expect(await billingRows(g)).toEqual(before);
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing`)).json.plan).toMatchObject({ packages: 2 });
  });

  it("opening the portal answers 409 saying why", async () => {
    const g = await group();
    await deleteCustomerAtStripe(g);
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/portal`);
    expect([r.status, r.json.error?.code], JSON.stringify(r.json)).toEqual([409, "conflict"]);
    expect(r.json.error.message).toMatch(/deleted/);
  });
});
