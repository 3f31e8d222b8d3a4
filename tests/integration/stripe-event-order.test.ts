import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pressHostedButton } from "../../src/emulators/shared/test-support.js";
import { buyThroughCheckout, grantCount, holdStripeEvents, payOnHostedCheckout, postStripeEvent, settleAt } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Stripe's events held back, then delivered newest first, twice and shuffled, or with one lost and the
// read-back loop doing the rest: what Stripe bills is what the group is granted, whatever the order.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripeGet = async (path: string): Promise<any> => (await fetch(`${server.stripe.url}${path}`, { headers: { authorization: "Bearer sk_test_x" } })).json();
const stripePost = (path: string, body: Record<string, string> = {}) =>
  fetch(`${server.stripe.url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body).toString(),
  }).then((r) => r.json());

async function group() {
  const f = await createOrgFixture(server.db, {});
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).status).toBe(200);
  const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [f.groupA.id])).rows[0]!.c;
  return { f, admin, groupId: f.groupA.id, customer };
}
type G = Awaited<ReturnType<typeof group>>;

type Order = "newest-first" | "twice-shuffled" | "in-order";
/** Stripe's events about what `act` does, held back, then delivered signed in `order` (the `lose` ones never). */
async function held(act: () => Promise<unknown>, order: Order, lose: (e: { type: string }) => boolean = () => false) {
  let events = (await holdStripeEvents(server, act)).filter((e) => !lose(e));
  if (order === "newest-first") events = events.reverse();
  if (order === "twice-shuffled") {
    events = [...events, ...events];
    let seed = 7;
    for (let i = events.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [events[i], events[j]] = [events[j]!, events[i]!];
    }
  }
  for (const e of events) {
    const r = await postStripeEvent(server, e);
    expect(r.status, `${e.type}: ${await r.text()}`).toBe(200);
  }
  return events;
}

/** Money Stripe kept from the customer (paid invoices minus refunds) and the money's worth of credits granted. */
async function billedAndGranted(g: G) {
  const paid = (await stripeGet(`/v1/invoices?customer=${g.customer}&status=paid&limit=100`)).data as { id: string; amount_paid: number; charge: string | null }[];
  let billed = paid.reduce((s, i) => s + i.amount_paid, 0);
  for (const e of server.stripe.events().filter((x) => x.type === "refund.created")) {
    const refund = e.data.object as { amount: number; charge: string };
    const charge = await stripeGet(`/v1/charges/${refund.charge}`);
    if (charge.customer === g.customer) billed -= refund.amount;
  }
  const { rows } = await q<{ kind: string; credits: number }>("select kind, sum(granted)::int as credits from credit_grants where group_id = $1 group by kind", [g.groupId]);
  const granted = rows.reduce((s, r) => s + (r.credits / server.config.CREDITS_PER_PACKAGE) * (r.kind === "monthly" ? server.config.PRICE_MONTHLY : server.config.PRICE_ONE_TIME), 0);
  return { billed, granted };
}
const planRow = async (groupId: string) =>
  (await q<{ s: string; quantity: number; status: string; start: Date; end: Date }>("select stripe_subscription_id as s, quantity, status, current_period_start as start, current_period_end as end from plans where group_id = $1", [groupId])).rows[0];
const liveMonthly = async (groupId: string) =>
  (await q<{ start: Date; packages: number }>("select period_start as start, packages from credit_grants where group_id = $1 and kind = 'monthly' and expired_at is null and remaining > 0", [groupId])).rows;

/** Billed == granted, one live monthly grant for Stripe's current period, and our plan as Stripe has it. */
async function expectAsStripe(g: G, subscriptionId: string) {
  const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
  const money = await billedAndGranted(g);
  expect(money.granted, `billed ${money.billed}, granted ${money.granted}`).toBe(money.billed);
  const plan = await planRow(g.groupId);
  const item = sub.items.data[0];
  expect({ quantity: plan?.quantity, start: plan && plan.start.getTime() / 1000, end: plan && plan.end.getTime() / 1000 }).toEqual({
    quantity: item.quantity,
    start: item.current_period_start,
    end: item.current_period_end,
  });
  expect(plan?.status).toBe(sub.status === "active" ? "active" : sub.status === "past_due" ? "past_due" : "canceled");
  if (sub.status === "active") expect((await liveMonthly(g.groupId)).map((l) => l.start.getTime() / 1000)).toEqual([item.current_period_start]);
  await expectLedgerConsistent(server.deps.database);
}

/** A monthly Checkout paid at Stripe; its subscription's id. */
async function payMonthlyCheckout(g: G, quantity: number) {
  const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity });
  expect(r.json.status).toBe("redirect");
  await payOnHostedCheckout(r.json.url);
  const { rows } = await q<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [r.json.purchaseId]);
  const session = await stripeGet(`/v1/checkout/sessions/${rows[0]!.s}`);
  return { subscriptionId: (typeof session.subscription === "string" ? session.subscription : session.subscription.id) as string, purchaseId: r.json.purchaseId as string };
}

const ORDERS: Order[] = ["newest-first", "twice-shuffled"];

describe("a monthly Checkout whose events come after a lowering made in the portal took effect", () => {
  for (const order of ORDERS) {
    it(`(${order}) grants the first month the packages it paid and the renewal the lowered ones`, async () => {
      const g = await group();
      let subscriptionId = "";
      await held(async () => {
        subscriptionId = (await payMonthlyCheckout(g, 3)).subscriptionId;
        const portalUrl = (await g.admin.post(`/api/groups/${g.groupId}/billing/portal`)).json.url as string;
        expect((await pressHostedButton({ pageUrl: portalUrl, button: "Update quantity", fields: { quantity: "1" } })).status).toBe(303);
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      expect(await grantCount(server, g.groupId)).toBe(2);
      await expectAsStripe(g, subscriptionId);
    });
  }
});

describe("a monthly Checkout whose events come after its first renewal was declined", () => {
  for (const order of ORDERS) {
    it(`(${order}) grants the first month it paid; the plan is past due`, async () => {
      const g = await group();
      let subscriptionId = "";
      await held(async () => {
        subscriptionId = (await payMonthlyCheckout(g, 2)).subscriptionId;
        await server.stripe.declineNextCharges(g.customer, 1);
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      expect(await grantCount(server, g.groupId)).toBe(1);
      const money = await billedAndGranted(g);
      expect(money.granted).toBe(money.billed);
      expect((await planRow(g.groupId))?.status).toBe("past_due");
      await expectLedgerConsistent(server.deps.database);
    });
  }
});

describe("a monthly Checkout and its first renewal, every event lost", () => {
  it("the read-back loop fulfils the Checkout, then reads the renewal back once the first period ended: two payments, two grants", async () => {
    const g = await group();
    let subscriptionId = "";
    const lost = await held(async () => {
      subscriptionId = (await payMonthlyCheckout(g, 2)).subscriptionId;
      await server.stripe.advanceSubscription(subscriptionId);
    }, "in-order", () => true);
    expect(lost).toHaveLength(0);
    const first = await stripeGet(`/v1/invoices?customer=${g.customer}&status=paid&limit=100`);
    const firstEnd = Math.min(...(first.data as { lines: { data: { period: { end: number } }[] } }[]).map((i) => i.lines.data[0]!.period.end));
    // The Checkout's purchase is read back (its session), then, once its period has ended, the plan's renewal.
    await settleAt(server, new Date(Date.now() + 60_000));
    expect(await grantCount(server, g.groupId)).toBe(1);
    await settleAt(server, new Date(firstEnd * 1000 + 6 * 60_000));
    // Before: the plan took the subscription's current period (the renewal's) without its grant, so the
    // renewal was not read back when the first period ended: paid, and not granted.
    expect(await grantCount(server, g.groupId), "the renewal's payment was not granted").toBe(2);
    await expectAsStripe(g, subscriptionId);
  });
});

describe("a plan raise around a renewal", () => {
  for (const order of ORDERS) {
    it(`(${order}) the raise's and the renewal's events: billed == granted, plan as Stripe`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
      const subscriptionId = (await planRow(g.groupId))!.s;
      await held(async () => {
        const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
        expect(r.json.status).toBe("completed");
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      await expectAsStripe(g, subscriptionId);
    });
  }
});

describe("cancel at period end, resume, cancel, around renewals", () => {
  for (const order of ORDERS) {
    it(`(${order}) cancel, resume, renewal, cancel, end: billed == granted, plan ended`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
      const subscriptionId = (await planRow(g.groupId))!.s;
      const portalUrl = (await g.admin.post(`/api/groups/${g.groupId}/billing/portal`)).json.url as string;
      await held(async () => {
        await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" });
        await pressHostedButton({ pageUrl: portalUrl, button: "Resume plan" });
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      await expectAsStripe(g, subscriptionId);
      await held(async () => {
        await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" });
      }, order);
      expect((await planRow(g.groupId))?.status).toBe("active");
      await held(async () => {
        await pressHostedButton({ pageUrl: portalUrl, button: "Resume plan" });
        await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" });
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      expect((await planRow(g.groupId))?.status).toBe("canceled");
      await expectLedgerConsistent(server.deps.database);
    });
  }
});

describe("a past-due renewal paid later, the next renewal's events before it", () => {
  for (const order of ORDERS) {
    it(`(${order}) every paid renewal granted once, plan active`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
      const subscriptionId = (await planRow(g.groupId))!.s;
      await held(async () => {
        await server.stripe.declineNextCharges(g.customer, 1);
        await server.stripe.advanceSubscription(subscriptionId);
        const { latest_invoice: unpaid } = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
        expect((await stripePost(`/v1/invoices/${unpaid}/pay`)).status).toBe("paid");
        await server.stripe.advanceSubscription(subscriptionId);
      }, order);
      await expectAsStripe(g, subscriptionId);
    });
  }
});

describe("a lowering from the next period around the renewal that applies it", () => {
  for (const order of ORDERS) {
    it(`(${order}) the renewal grants the lowered quantity, the plan shows it`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 3);
      const subscriptionId = (await planRow(g.groupId))!.s;
      const portalUrl = (await g.admin.post(`/api/groups/${g.groupId}/billing/portal`)).json.url as string;
      await held(async () => {
        await pressHostedButton({ pageUrl: portalUrl, button: "Update quantity", fields: { quantity: "1" } });
        await server.stripe.advanceSubscription(subscriptionId);
        await pressHostedButton({ pageUrl: portalUrl, button: "Update quantity", fields: { quantity: "2" } });
      }, order);
      await expectAsStripe(g, subscriptionId);
      const next = (await g.admin.get(`/api/groups/${g.groupId}/billing`)).json.plan;
      const sub = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
      expect({ next: next.nextPeriodPackages, packages: next.packages }).toMatchObject({ packages: sub.items.data[0].quantity });
    });
  }
});

describe("a one-time Checkout", () => {
  for (const order of ORDERS) {
    it(`(${order}) granted once`, async () => {
      const g = await group();
      await held(async () => {
        const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 2 });
        await payOnHostedCheckout(r.json.url);
        const r2 = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
        const { rows } = await q<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [r2.json.purchaseId]);
        await stripePost(`/v1/checkout/sessions/${rows[0]!.s}/expire`);
      }, order);
      expect(await grantCount(server, g.groupId)).toBe(1);
      const money = await billedAndGranted(g);
      expect(money.granted).toBe(money.billed);
      await expectLedgerConsistent(server.deps.database);
    });
  }
});

describe("every event lost, the read-back loop past the period end does the rest", () => {
  const flows: Record<string, (g: G, subscriptionId: string, portalUrl: string) => Promise<void>> = {
    "a raise, then the renewal": async (g, subscriptionId) => {
      expect((await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 })).json.status).toBe("completed");
      await server.stripe.advanceSubscription(subscriptionId);
    },
    "a lowering, then the renewal that applies it": async (_g, subscriptionId, portalUrl) => {
      await pressHostedButton({ pageUrl: portalUrl, button: "Update quantity", fields: { quantity: "1" } });
      await server.stripe.advanceSubscription(subscriptionId);
    },
    "a declined renewal paid later": async (g, subscriptionId) => {
      await server.stripe.declineNextCharges(g.customer, 1);
      await server.stripe.advanceSubscription(subscriptionId);
      const { latest_invoice: unpaid } = await stripeGet(`/v1/subscriptions/${subscriptionId}`);
      expect((await stripePost(`/v1/invoices/${unpaid}/pay`)).status).toBe("paid");
    },
    "cancel at period end, resume, renewal, cancel at period end, end": async (_g, subscriptionId, portalUrl) => {
      await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" });
      await pressHostedButton({ pageUrl: portalUrl, button: "Resume plan" });
      await server.stripe.advanceSubscription(subscriptionId);
      await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" });
      await server.stripe.advanceSubscription(subscriptionId);
    },
  };
  for (const [name, act] of Object.entries(flows)) {
    it(`${name}: billed == granted, the plan as Stripe has it`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
      const subscriptionId = (await planRow(g.groupId))!.s;
      const portalUrl = (await g.admin.post(`/api/groups/${g.groupId}/billing/portal`)).json.url as string;
      await held(() => act(g, subscriptionId, portalUrl), "in-order", () => true);
      for (let i = 0; i < 3; i++) {
        const plan = (await planRow(g.groupId))!;
        await settleAt(server, new Date(plan.end.getTime() + 6 * 60_000));
      }
      await expectAsStripe(g, subscriptionId);
    });
  }
});

describe("a plan raise while Stripe has ended the subscription and its deletion event is late", () => {
  for (const order of ["in-order", "newest-first"] as const) {
    it(`(${order}) is refunded and grants nothing, as it is when the deletion arrived first; the plan ends`, async () => {
      const g = await group();
      await buyThroughCheckout(server, g.admin, g.groupId, "monthly", 2);
      const subscriptionId = (await planRow(g.groupId))!.s;
      let raise: { status: number; json: { status?: string } } | undefined;
      await held(async () => {
        await fetch(`${server.stripe.url}/v1/subscriptions/${subscriptionId}`, { method: "DELETE", headers: { authorization: "Bearer sk_test_x" } });
        raise = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
      }, order);
      // Before: the raise was charged on the ended subscription and answered "completed"; the late deletion
      // then ended its credits with the plan's: paid, nothing to spend, nothing given back.
      expect([raise?.status, raise?.json.status], "a raise on an ended subscription was charged and kept").toEqual([409, undefined]);
      const refunds = server.stripe.events().filter((e) => e.type === "refund.created");
      expect(refunds.filter((e) => (e.data.object as { metadata?: { purchaseId?: string } }).metadata?.purchaseId !== undefined).length).toBeGreaterThan(0);
      expect(await grantCount(server, g.groupId)).toBe(1);
      const money = await billedAndGranted(g);
      expect(money.granted).toBe(money.billed);
      expect((await planRow(g.groupId))?.status).toBe("canceled");
      await expectLedgerConsistent(server.deps.database);
    });
  }
});
