import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { billedAndGranted, buyThroughCheckout, grantCount, holdStripeEvents, payOnHostedCheckout, stripeApi } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// Stripe saves the answer of a request whose execution began under its idempotency key, a 500 of
// its own included, and replays it to every retry with that key for at least 24 hours
// (https://docs.stripe.com/idempotency). The two steps that create an object (the group's customer
// when billing is enabled, a purchase's Checkout Session) must work again once the failure is over,
// not answer 503 for a day: nobody got the URL of a session the spent key may have made, and a
// stray customer with nothing on it bills nothing.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

/** Runs `act` while Stripe fails the requests `fault` matches after their execution began (their 500 saved under their key). */
async function withSavedError<T>(fault: { method: "POST"; path: RegExp }, act: () => Promise<T>) {
  server.stripe.setRequestFault({ ...fault, mode: "error-saved" });
  try {
    return await act();
  } finally {
    server.stripe.setRequestFault(null);
  }
}

async function standardGroupAdmin() {
  const f = await createOrgFixture(server.db, { partnerManaged: false });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  return { f, admin, groupId: f.groupA.id };
}

/** The Stripe customers made for the group (their `customer.created` events). */
const customersOfGroup = (groupId: string) =>
  server.stripe
    .events()
    .filter((e) => e.type === "customer.created" && (e.data.object as { metadata: Record<string, string> }).metadata.groupId === groupId)
    .map((e) => (e.data.object as { id: string }).id);

describe("a create step whose 500 Stripe saved under its idempotency key (replayed to every retry with the key)", () => {
  it("enabling billing: the customer's create failed that way; once Stripe works again the page's retry enables it with one customer, and a Checkout purchase bills what it grants", async () => {
    const { admin, groupId } = await standardGroupAdmin();
    const enable = () => admin.post(`/api/groups/${groupId}/billing/enable`); // as the page sends it: {} as JSON

    const first = await withSavedError({ method: "POST", path: /^\/v1\/customers$/ }, enable);
    expect([first.status, first.json?.error?.code]).toEqual([503, "billing_unavailable"]);
    expect((await q("select 1 from billing_profiles where group_id = $1", [groupId])).rows).toEqual([]);

    const retry = await enable();
    expect([retry.status, retry.json]).toEqual([200, { enabled: true, customerType: "standard" }]);
    const profiles = (await q<{ c: string | null }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows;
    expect(profiles).toHaveLength(1);
    const customer = profiles[0]!.c!;
    expect(customer).toMatch(/^cus_/);
    expect(customersOfGroup(groupId)).toEqual([customer]); // the spent key made none
    // Repeating it changes nothing.
    expect((await enable()).status).toBe(200);
    expect((await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows).toEqual([{ c: customer }]);

    await buyThroughCheckout(server, admin, groupId, "one_time", 2);
    const money = await billedAndGranted(server, { groupId, customer }, server.config.PRICE_ONE_TIME);
    expect(money.billed).toBeGreaterThan(0);
    expect(money.billed).toBe(money.granted);
    expect(await grantCount(server, groupId)).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });

  it("enabling billing: two retries at once after the customer's create failed that way both answer the group's one recorded customer", async () => {
    const { admin, groupId } = await standardGroupAdmin();
    const enable = () => admin.post(`/api/groups/${groupId}/billing/enable`);
    expect((await withSavedError({ method: "POST", path: /^\/v1\/customers$/ }, enable)).status).toBe(503);

    const answers = await Promise.all([enable(), enable()]); // two tabs
    expect(answers.map((r) => [r.status, r.json])).toEqual([
      [200, { enabled: true, customerType: "standard" }],
      [200, { enabled: true, customerType: "standard" }],
    ]);
    const profiles = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows;
    expect(profiles).toHaveLength(1);
    // Both walked the same keys (`key`, then `key:2`); Stripe answers the second of two at once 409 and
    // then replays the first's customer. (The emulator may make one each: the group keeps the first.)
    expect(customersOfGroup(groupId)).toContain(profiles[0]!.c);
  });

  it("Checkout purchase: its session's create failed that way; once Stripe works again the retry with the same Idempotency-Key gets the Checkout page, paid once and granted once", async () => {
    const { admin, groupId } = await standardGroupAdmin();
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
    const key = crypto.randomUUID();
    const buy = () => admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 2 }, { "idempotency-key": key });

    const first = await withSavedError({ method: "POST", path: /^\/v1\/checkout\/sessions$/ }, buy);
    expect([first.status, first.json?.error?.code]).toEqual([503, "billing_unavailable"]);

    const retry = await buy();
    expect([retry.status, retry.json?.status]).toEqual([200, "redirect"]);
    const purchaseId = retry.json.purchaseId as string;
    const recorded = (await q<{ s: string | null }>("select stripe_checkout_session_id as s from purchases where id = $1", [purchaseId])).rows[0]!.s;
    expect(retry.json.url).toContain(recorded!);
    // Once more with the key: the same purchase and the same page.
    const again = await buy();
    expect([again.status, again.json?.purchaseId, again.json?.url]).toEqual([200, purchaseId, retry.json.url]);

    const back = await payOnHostedCheckout(retry.json.url);
    expect(back).toContain(`/groups/${groupId}/billing?checkout=success&purchase=${purchaseId}`);
    await eventually(async () => (await admin.get(`/api/groups/${groupId}/billing/purchases/${purchaseId}`)).json.status === "completed");

    expect((await q("select id from purchases where group_id = $1", [groupId])).rows).toHaveLength(1);
    const money = await billedAndGranted(server, { groupId, customer }, server.config.PRICE_ONE_TIME);
    expect(money.billed).toBe(2 * server.config.PRICE_ONE_TIME);
    expect(money.billed).toBe(money.granted);
    expect(await grantCount(server, groupId)).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });
});

// Stripe forgets an idempotency key after 24 hours: a purchase's retry with its Idempotency-Key a day
// later makes a new Checkout Session under the purchase's key, which the purchase never recorded
// (its payment would be billed and never granted). The retry sends the customer to the purchase's own
// session, and the stray one is expired.
describe("a Checkout purchase retried after Stripe forgot its key", () => {
  async function checkoutStarted() {
    const { admin, groupId } = await standardGroupAdmin();
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
    const key = crypto.randomUUID();
    const buy = () => admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 2 }, { "idempotency-key": key });
    const first = await buy();
    expect([first.status, first.json?.status]).toEqual([200, "redirect"]);
    const purchaseId = first.json.purchaseId as string;
    const recorded = (await q<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [purchaseId])).rows[0]!.s;
    return { admin, groupId, customer, buy, first, purchaseId, recorded };
  }

  it("the retry gets the purchase's own Checkout page, the session the forgotten key made is expired, and paying bills what is granted", async () => {
    const { admin, groupId, customer, buy, first, purchaseId, recorded } = await checkoutStarted();
    server.stripe.forgetIdempotencyKeys();
    const retry = await buy();
    expect([retry.status, retry.json?.purchaseId, retry.json?.url]).toEqual([200, purchaseId, first.json.url]);
    expect(retry.json.url).toContain(recorded);
    // The key made a second session; it is expired, so nobody can pay it.
    const expired = server.stripe.events().filter((e) => e.type === "checkout.session.expired").map((e) => (e.data.object as { id: string; metadata: Record<string, string> }));
    expect(expired.filter((s) => s.metadata.purchaseId === purchaseId).map((s) => s.id)).toEqual([expect.not.stringMatching(recorded)]);

    await payOnHostedCheckout(retry.json.url);
    await eventually(async () => (await admin.get(`/api/groups/${groupId}/billing/purchases/${purchaseId}`)).json.status === "completed");
    const money = await billedAndGranted(server, { groupId, customer }, server.config.PRICE_ONE_TIME);
    expect(money.billed).toBe(2 * server.config.PRICE_ONE_TIME);
    expect(money.billed).toBe(money.granted);
    expect(await grantCount(server, groupId)).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });

  it("the purchase's own session expired at Stripe (its event not delivered): the retry answers 409 conflict, start a new purchase, and nothing is billed", async () => {
    const { groupId, customer, buy, recorded } = await checkoutStarted();
    await holdStripeEvents(server, () => stripeApi(server, `/v1/checkout/sessions/${recorded}/expire`, {}));
    server.stripe.forgetIdempotencyKeys();
    const retry = await buy();
    expect([retry.status, retry.json?.error?.code, retry.json?.error?.message]).toEqual([409, "conflict", "This purchase's checkout expired; start a new purchase."]);
    expect(await billedAndGranted(server, { groupId, customer }, server.config.PRICE_ONE_TIME)).toEqual({ billed: 0, granted: 0 });
  });
});
