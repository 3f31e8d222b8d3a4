import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, grantCount, topUpsOf } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// An auto top-up whose first attempt's answer was unknown waits for its retry. The admin turns auto
// top-up off and on again with the same settings before the retry is claimed: the top-up is still
// the one wanted (one at a time), so the retry charges, with the first attempt's key. Whatever the
// first attempt did is found through that key and granted once; nothing is charged twice, and the
// next top-up starts only once this one is over.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const SETTINGS = { threshold: 500, packages: 1, maxPerMonth: 5 };

interface StripeInvoice {
  id: string;
  status: string;
  amount_paid: number;
  metadata: Record<string, string>;
}

/** A group with 1,000 credits (standard: bought through Checkout, its card saved) and auto top-up at 500. */
async function groupWithAutoTopUp(partner: boolean) {
  const f = await createOrgFixture(server.db, { partnerManaged: partner, websites: 1 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  const groupId = f.groupA.id;
  expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
  if (partner) await fundGroupPool(server.deps.database, groupId, { oneTime: 1000 });
  else await buyThroughCheckout(server, admin, groupId, "one_time", 1);
  const customer = partner ? null : (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
  const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, f.org.id)}` });
  const settings = `/api/groups/${groupId}/billing/settings`;
  expect((await admin.put(settings, { autoTopUp: SETTINGS })).status).toBe(200);
  const spend = async (credits: number) =>
    expect((await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
  const topUps = () => topUpsOf(server, groupId);
  /** The first attempt is over, its outcome unknown, when its lease (30 s) was cut to the retry wait (5 s). */
  const firstAttemptUnknown = () =>
    eventually(async () => {
      const t = (await topUps())[0];
      return t?.status === "pending" && t.attempts === 1 && t.retry_in_ms !== null && t.retry_in_ms < 10_000;
    });
  /** Off, then on again with the same settings, as the admin does on the page, before the retry is claimed. */
  const offAndOnAgain = async () => {
    expect((await admin.put(settings, { autoTopUp: null })).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: null });
    expect((await admin.put(settings, { autoTopUp: SETTINGS })).json).toMatchObject({ autoTopUp: SETTINGS, autoTopUpDisabledReason: null });
    // Still the one top-up, waiting for its retry: turning it on again started no second one.
    expect(await topUps()).toMatchObject([{ status: "pending", attempts: 1, purchase_status: "pending" }]);
  };
  const alerts = async () => ((await admin.get(`/api/groups/${groupId}/billing/alerts`)).json.alerts as { type: string }[]).map((a) => a.type);
  const succeeded = async () => (await alerts()).filter((t) => t === "group.auto_top_up.succeeded").length;
  const stripeInvoices = async () =>
    (
      await fetch(`${server.stripe.url}/v1/invoices?customer=${customer}&limit=100`, { headers: { authorization: "Bearer sk_test_x" } }).then(
        (r) => r.json() as Promise<{ data: StripeInvoice[] }>,
      )
    ).data;
  const partnerCharges = () => server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId && c.description.endsWith("· auto top-up"));
  const completedAmount = async () =>
    (await q<{ n: number }>("select coalesce(sum(amount), 0)::int as n from purchases where group_id = $1 and status = 'completed'", [groupId])).rows[0]!.n;
  const poolAvailable = async () => (await admin.get(settings)).json.poolAvailable as number;
  return { groupId, admin, settings, spend, topUps, firstAttemptUnknown, offAndOnAgain, alerts, succeeded, stripeInvoices, partnerCharges, completedAmount, poolAvailable };
}
type G = Awaited<ReturnType<typeof groupWithAutoTopUp>>;

/** Billed == granted: Stripe's paid invoices (Checkout's and the top-ups') are the completed purchases. */
async function expectStripeBilledAsGranted(g: G, topUps: number) {
  const invoices = await g.stripeInvoices();
  const ofTopUps = invoices.filter((i) => i.metadata.autoTopUpId);
  expect(ofTopUps.map((i) => i.status)).toEqual(Array.from({ length: topUps }, () => "paid"));
  expect(new Set(ofTopUps.map((i) => i.metadata.autoTopUpId)).size).toBe(topUps); // one invoice per top-up
  const paid = invoices.filter((i) => i.status === "paid").reduce((sum, i) => sum + i.amount_paid, 0);
  expect(paid).toBe(await g.completedAmount());
  expect(paid).toBe((1 + topUps) * server.config.PRICE_ONE_TIME);
  expect(await grantCount(server, g.groupId)).toBe(1 + topUps);
}

/** The retry, the top-up's second attempt, succeeded: its purchase completed, the pool topped up once. */
async function expectRetrySucceeded(g: G) {
  await eventually(async () => (await g.succeeded()) === 1, 20_000);
  expect(await g.topUps()).toMatchObject([{ status: "succeeded", attempts: 2, purchase_status: "completed" }]);
  expect(await g.poolAvailable()).toBe(1400);
}

/** Below the threshold again after the retried top-up: the next top-up is bought under the settings as they are, once. */
async function expectNextTopUpBought(g: G) {
  await g.spend(1000); // 1,400 -> 400
  await eventually(async () => (await g.succeeded()) === 2, 20_000);
  expect(await g.topUps()).toMatchObject([{ status: "succeeded" }, { status: "succeeded", attempts: 1, purchase_status: "completed" }]);
  expect(await g.poolAvailable()).toBe(1400);
}

describe("an auto top-up waiting for its retry while auto top-up is turned off and on again (same settings)", () => {
  it("standard: the first attempt's payment reached Stripe, its answer lost: the retry finds it by its key, grants it once and pays nothing more", async () => {
    const g = await groupWithAutoTopUp(false);
    // The top-up's invoice is created and finalized; its payment is held past the gateway's deadline.
    server.stripe.setRequestFault({ method: "POST", path: /^\/v1\/invoices\/[^/]+\/pay$/, mode: "hold" });
    try {
      await g.spend(600); // 1,000 -> 400
      await g.firstAttemptUnknown();
      expect(server.stripe.heldRequests()).toBeGreaterThan(0);
    } finally {
      server.stripe.setRequestFault(null); // the held payment goes through: the card is charged
    }
    await eventually(async () => (await g.stripeInvoices()).some((i) => i.metadata.autoTopUpId && i.status === "paid"));
    await g.offAndOnAgain();

    await expectRetrySucceeded(g);
    await expectStripeBilledAsGranted(g, 1);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ autoTopUp: SETTINGS, autoTopUpDisabledReason: null });
    expect(await g.alerts()).not.toContain("group.auto_top_up.failed");

    await expectNextTopUpBought(g);
    await expectStripeBilledAsGranted(g, 2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("standard: nothing reached Stripe: the retry charges the top-up once, and it is granted once", async () => {
    const g = await groupWithAutoTopUp(false);
    server.stripe.setFault("error");
    try {
      await g.spend(600);
      await g.firstAttemptUnknown();
    } finally {
      server.stripe.setFault("none");
    }
    await g.offAndOnAgain();

    await expectRetrySucceeded(g);
    await expectStripeBilledAsGranted(g, 1);
    expect((await g.admin.get(g.settings)).json).toMatchObject({ autoTopUp: SETTINGS, autoTopUpDisabledReason: null });

    await expectNextTopUpBought(g);
    await expectStripeBilledAsGranted(g, 2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("partner: the first attempt's charge was made, its answer late: the retry gets that charge back by its key and grants it once", async () => {
    const g = await groupWithAutoTopUp(true);
    server.partner.setFault("delay", { delayMs: 4000 }); // past the gateway's 3 s: the outcome is unknown
    try {
      await g.spend(600);
      await g.firstAttemptUnknown();
    } finally {
      server.partner.setFault("none");
    }
    expect(g.partnerCharges()).toHaveLength(1);
    await g.offAndOnAgain();

    await expectRetrySucceeded(g);
    expect(g.partnerCharges()).toHaveLength(1);
    expect(await g.completedAmount()).toBe(server.config.PRICE_ONE_TIME);
    expect(await grantCount(server, g.groupId)).toBe(2); // the funded pool's and the top-up's
    const history = (await g.admin.get(`/api/groups/${g.groupId}/billing/invoices`)).json.invoices as { description: string }[];
    expect(history.filter((i) => i.description.endsWith("· auto top-up"))).toHaveLength(1);

    await expectNextTopUpBought(g);
    expect(g.partnerCharges()).toHaveLength(2);
    expect(await g.completedAmount()).toBe(2 * server.config.PRICE_ONE_TIME);
    await expectLedgerConsistent(server.deps.database);
  });

  it("partner: nothing reached the partner: the retry charges the top-up once, and it is granted once", async () => {
    const g = await groupWithAutoTopUp(true);
    server.partner.setFault("error");
    try {
      await g.spend(600);
      await g.firstAttemptUnknown();
    } finally {
      server.partner.setFault("none");
    }
    expect(g.partnerCharges()).toHaveLength(0);
    await g.offAndOnAgain();

    await expectRetrySucceeded(g);
    expect(g.partnerCharges()).toHaveLength(1);
    expect(await g.completedAmount()).toBe(server.config.PRICE_ONE_TIME);

    await expectNextTopUpBought(g);
    expect(g.partnerCharges()).toHaveLength(2);
    await expectLedgerConsistent(server.deps.database);
  });
});
