import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import Stripe from "stripe";
import { afterEach, describe, expect, it } from "vitest";
import {
  BillingUnavailableError,
  CardDeclinedError,
  createStripeGateway,
  StripeRequestError,
  WebhookSignatureError,
  type StripeEvent,
} from "../../server/integrations/stripe/index.js";
import { startWebhookReceiver, waitFor } from "../shared/test-support.js";
import { startStripeEmulator, type StripeEmulator } from "./index.js";

const WEBHOOK_SECRET = "whsec_test_emulator";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup({ dataDir = null, failFirst = 0 }: { dataDir?: string | null; failFirst?: number } = {}) {
  const receiver = await startWebhookReceiver({ failFirst });
  const emulator = await startStripeEmulator({ port: 0, dataDir, webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET });
  cleanups.push(() => receiver.close(), () => emulator.close());
  const gateway = createStripeGateway({ secretKey: "sk_test_emulator", apiBase: emulator.url, webhookSecret: WEBHOOK_SECRET });
  /** Webhooks received so far, each verified by the gateway like the app's handler does. */
  const verifiedEvents = (): StripeEvent[] =>
    receiver.received.map((request) => gateway.constructEvent(request.body, request.signature));
  return { emulator, gateway, receiver, verifiedEvents };
}

async function startCheckout({
  gateway,
  mode,
  quantity = 2,
}: {
  gateway: ReturnType<typeof createStripeGateway>;
  mode: "payment" | "subscription";
  quantity?: number;
}) {
  const customer = await gateway.createCustomer({ groupId: "grp_1", name: "Online Stores", idempotencyKey: `cus-${mode}` });
  const session = await gateway.createCheckoutSession({
    customerId: customer.id,
    mode,
    productName: "1,000 group credits",
    unitAmount: 1500,
    currency: "usd",
    quantity,
    successUrl: "http://app.test/groups/grp_1/billing?checkout={CHECKOUT_SESSION_ID}",
    cancelUrl: "http://app.test/groups/grp_1/billing?cancelled=1",
    metadata: { groupId: "grp_1", purchaseId: `pur_${mode}` },
    idempotencyKey: `cs-${mode}`,
  });
  return { customer, session };
}

/** Presses Pay as a browser would: posts the page's form with its hidden fields. */
async function pressPay(emulator: StripeEmulator, sessionUrl: string): Promise<Response> {
  const page = await fetch(sessionUrl).then((response) => response.text());
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page);
  if (!form?.[1]) throw new Error("no pay form on the checkout page");
  const hidden = new URLSearchParams();
  for (const match of (form[2] ?? "").matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden.set(match[1] ?? "", match[2] ?? "");
  return fetch(new URL(form[1], emulator.url), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: hidden.toString(),
    redirect: "manual",
  });
}

describe("Stripe emulator through the Stripe gateway", () => {
  it("creates one customer for two calls with the same idempotency key", async () => {
    const { gateway, emulator } = await setup();
    const first = await gateway.createCustomer({ groupId: "grp_1", name: "Group", idempotencyKey: "same-key" });
    const second = await gateway.createCustomer({ groupId: "grp_1", name: "Group", idempotencyKey: "same-key" });
    expect(second.id).toBe(first.id);
    expect(emulator.events().filter((event) => event.type === "customer.created")).toHaveLength(1);
  });

  it("shows a hosted checkout page with the product, quantity, total, Pay and Cancel", async () => {
    const { gateway } = await setup();
    const { session } = await startCheckout({ gateway, mode: "payment", quantity: 3 });
    const html = await fetch(session.url).then((response) => response.text());
    expect(html).toContain("1,000 group credits");
    expect(html).toContain("Qty 3");
    expect(html).toContain("$45.00");
    expect(html).toMatch(/<button[^>]*>Pay<\/button>/);
    expect(html).toContain('href="http://app.test/groups/grp_1/billing?cancelled=1">Cancel</a>');
  });

  it("completes a one-time payment: 303 to the success URL, a signed webhook and a paid invoice", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "payment", quantity: 3 });

    const response = await pressPay(emulator, session.url);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`http://app.test/groups/grp_1/billing?checkout=${session.id}`);

    const completed = await waitFor(() => verifiedEvents().find((event) => event.type === "checkout.session.completed"));
    if (completed.type !== "checkout.session.completed") throw new Error("unexpected event");
    expect(completed.data.object.id).toBe(session.id);
    expect(completed.data.object.payment_status).toBe("paid");
    expect(completed.data.object.metadata).toEqual({ groupId: "grp_1", purchaseId: "pur_payment" });

    const retrieved = await gateway.retrieveCheckoutSession(session.id);
    expect(retrieved).toMatchObject({ status: "complete", paymentStatus: "paid", mode: "payment", amountTotal: 4500 });
    expect(retrieved.paymentIntentId).toMatch(/^pi_/);

    const invoices = await gateway.listPaidInvoices(customer.id);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ id: retrieved.invoiceId, total: { amount: 4500, currency: "usd" }, description: "3 × 1,000 group credits" });
    expect(invoices[0]?.number).toMatch(/-0001$/);
    const invoicePage = await fetch(invoices[0]?.hostedInvoiceUrl ?? "");
    expect(invoicePage.status).toBe(200);
    const html = await invoicePage.text();
    expect(html).toContain("$45.00");
    // The line names what was bought, once (not again as the invoice's description above it).
    expect(html.split("3 × 1,000 group credits").length - 1).toBe(1);
  });

  it("pays a checkout session only once however often Pay is pressed", async () => {
    const { gateway, emulator } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "payment" });
    await pressPay(emulator, session.url);
    await emulator.payCheckoutSession(session.id);
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);
    expect(emulator.events().filter((event) => event.type === "checkout.session.completed")).toHaveLength(1);
  });

  it("starts a subscription, then renews it with an invoice for the next period", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { session } = await startCheckout({ gateway, mode: "subscription", quantity: 2 });
    expect((await pressPay(emulator, session.url)).status).toBe(303);

    const { subscriptionId } = await gateway.retrieveCheckoutSession(session.id);
    if (!subscriptionId) throw new Error("no subscription");
    const first = await gateway.retrieveSubscription(subscriptionId);
    expect(first).toMatchObject({ status: "active", quantity: 2, cancelAtPeriodEnd: false, metadata: { groupId: "grp_1", purchaseId: "pur_subscription" } });
    const monthIndex = (date: Date) => date.getUTCFullYear() * 12 + date.getUTCMonth();
    expect(monthIndex(first.currentPeriodEnd) - monthIndex(first.currentPeriodStart)).toBe(1);

    await emulator.advanceSubscription(subscriptionId);
    const renewal = await waitFor(() =>
      verifiedEvents().find((event) => event.type === "invoice.paid" && event.data.object.billing_reason === "subscription_cycle"),
    );
    if (renewal.type !== "invoice.paid") throw new Error("unexpected event");
    const invoice = await gateway.retrieveInvoice(renewal.data.object.id);
    expect(invoice).toMatchObject({ subscriptionId, billingReason: "subscription_cycle", paid: true, total: 3000, quantity: 2 });
    expect(invoice.periodStart).toEqual(first.currentPeriodEnd);
    const renewed = await gateway.retrieveSubscription(subscriptionId);
    expect(renewed.currentPeriodStart).toEqual(first.currentPeriodEnd);
    expect(renewed.currentPeriodEnd).toEqual(invoice.periodEnd);
    await waitFor(() => verifiedEvents().find((event) => event.type === "customer.subscription.updated"));
  });

  it("raises a plan's quantity and bills the prorated difference at once", async () => {
    const { gateway, emulator } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "subscription", quantity: 1 });
    await emulator.payCheckoutSession(session.id);
    const { subscriptionId } = await gateway.retrieveCheckoutSession(session.id);
    if (!subscriptionId) throw new Error("no subscription");
    const updated = await gateway.updateSubscriptionQuantity({ subscriptionId, quantity: 3, idempotencyKey: "raise-1" });
    expect(updated.quantity).toBe(3);
    const invoices = await gateway.listPaidInvoices(customer.id);
    expect(invoices).toHaveLength(2);
    expect(invoices[0]?.total.amount).toBeGreaterThan(2900);
    expect(invoices[0]?.total.amount).toBeLessThanOrEqual(3000);
  });

  it("ends a subscription set to cancel at period end instead of renewing it", async () => {
    const { gateway, emulator } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "subscription" });
    await emulator.payCheckoutSession(session.id);
    const { subscriptionId } = await gateway.retrieveCheckoutSession(session.id);
    if (!subscriptionId) throw new Error("no subscription");
    await gateway.setCancelAtPeriodEnd({ subscriptionId, cancelAtPeriodEnd: true, idempotencyKey: "cancel-1" });

    await emulator.advanceSubscription(subscriptionId);
    await emulator.advanceSubscription(subscriptionId);

    expect((await gateway.retrieveSubscription(subscriptionId)).status).toBe("canceled");
    expect(emulator.events().filter((event) => event.type === "customer.subscription.deleted")).toHaveLength(1);
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);
  });

  it("rejects webhooks with a bad or missing signature", async () => {
    const { gateway, emulator, receiver } = await setup();
    await gateway.createCustomer({ groupId: "grp_1", name: "Group", idempotencyKey: "sig" });
    const delivered = await waitFor(() => receiver.received[0]);
    expect(gateway.constructEvent(delivered.body, delivered.signature).type).toBe("customer.created");
    expect(() => gateway.constructEvent(delivered.body.replace("customer.created", "customer.deleted"), delivered.signature)).toThrow(
      WebhookSignatureError,
    );
    expect(() => gateway.constructEvent(delivered.body, undefined)).toThrow(WebhookSignatureError);
    const otherSecret = createStripeGateway({ secretKey: "sk_test_x", apiBase: emulator.url, webhookSecret: "whsec_other" });
    expect(() => otherSecret.constructEvent(delivered.body, delivered.signature)).toThrow(WebhookSignatureError);
  });

  it("retries a webhook the receiver failed, and redelivers on request", async () => {
    const { gateway, emulator, receiver } = await setup({ failFirst: 2 });
    await gateway.createCustomer({ groupId: "grp_1", name: "Group", idempotencyKey: "retry" });
    await waitFor(() => receiver.received.length === 1);
    expect(receiver.attempts()).toBe(3);
    const [event] = emulator.events();
    await emulator.redeliver(event?.id ?? "");
    expect(receiver.received.map((request) => (JSON.parse(request.body) as { id: string }).id)).toEqual([event?.id, event?.id]);
  });

  it("turns a hanging Stripe into BillingUnavailableError within the timeout", async () => {
    const { gateway, emulator } = await setup();
    emulator.setFault("hang");
    const started = Date.now();
    await expect(gateway.listPaidInvoices("cus_any")).rejects.toBeInstanceOf(BillingUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("marks a write that got no answer as an unknown outcome, and a refused connection as nothing sent", async () => {
    const { emulator } = await setup();
    const impatient = createStripeGateway({ secretKey: "sk_test_x", apiBase: emulator.url, webhookSecret: WEBHOOK_SECRET, timeoutMs: 300 });
    emulator.setFault("hang");
    await expect(impatient.createCustomer({ groupId: "g", name: "n", idempotencyKey: "hung" })).rejects.toMatchObject({
      constructor: BillingUnavailableError,
      outcomeUnknown: true,
    });
    emulator.setFault("none");
    const nowhere = createStripeGateway({ secretKey: "sk_test_x", apiBase: "http://127.0.0.1:1", webhookSecret: WEBHOOK_SECRET });
    await expect(nowhere.createCustomer({ groupId: "g", name: "n", idempotencyKey: "refused" })).rejects.toMatchObject({
      constructor: BillingUnavailableError,
      outcomeUnknown: false,
    });
  });

  it("turns Stripe 500s into BillingUnavailableError, set over HTTP too", async () => {
    const { gateway, emulator } = await setup();
    const response = await fetch(`${emulator.url}/_emulator/fault`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-emulator-control-token": emulator.controlToken },
      body: JSON.stringify({ mode: "error" }),
    });
    expect(response.status).toBe(200);
    await expect(gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "k" })).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setFault("none");
    await expect(gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "k" })).resolves.toHaveProperty("id");
  });

  it("faults one kind of request: `error` answers 500 and does nothing; `hold` carries it out once cleared, its answer too late", async () => {
    const { gateway, emulator } = await setup();
    const impatient = createStripeGateway({ secretKey: "sk_test_x", apiBase: emulator.url, webhookSecret: WEBHOOK_SECRET, timeoutMs: 300 });
    emulator.setRequestFault({ method: "POST", path: /^\/v1\/customers$/, mode: "error" });
    await expect(gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "failed" })).rejects.toBeInstanceOf(BillingUnavailableError);
    await expect(gateway.listPaidInvoices("cus_any")).resolves.toEqual([]); // other requests are answered
    expect(emulator.events()).toHaveLength(0);

    emulator.setRequestFault({ method: "POST", path: /^\/v1\/customers$/, mode: "hold" });
    await expect(impatient.createCustomer({ groupId: "g", name: "n", idempotencyKey: "held" })).rejects.toMatchObject({ outcomeUnknown: true });
    expect(emulator.heldRequests()).toBeGreaterThan(0);
    expect(emulator.events()).toHaveLength(0);
    emulator.setRequestFault(null);
    await waitFor(() => emulator.heldRequests() === 0 && emulator.events().length > 0);
    // The held request and the SDK's retry of it (same key) made one customer, which the key now answers.
    expect(emulator.events().filter((e) => e.type === "customer.created")).toHaveLength(1);
    const again = await gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "held" });
    expect(again.id).toBe((emulator.events()[0]!.data.object as { id: string }).id);
  });

  it("`error-saved` fails a request after execution began: its 500 is saved under its key and replayed after the fault is cleared, nothing done", async () => {
    const { emulator } = await setup();
    const post = (key: string, name: string) =>
      fetch(`${emulator.url}/v1/customers`, {
        method: "POST",
        headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded", "idempotency-key": key },
        body: new URLSearchParams({ name }).toString(),
      });
    expect((await post("answered", "n")).status).toBe(200);
    emulator.setRequestFault({ method: "POST", path: /^\/v1\/customers$/, mode: "error-saved" });
    const failed = await post("spent", "n");
    expect(failed.status).toBe(500);
    expect(failed.headers.get("idempotent-replayed")).toBeNull();
    expect(await failed.json()).toMatchObject({ error: { type: "api_error" } });
    // A key answered before the fault replays its answer: Stripe replays before it executes anything.
    const answered = await post("answered", "n");
    expect([answered.status, answered.headers.get("idempotent-replayed")]).toEqual([200, "true"]);

    emulator.setRequestFault(null);
    const replayed = await post("spent", "n");
    expect([replayed.status, replayed.headers.get("idempotent-replayed")]).toEqual([500, "true"]);
    expect(await replayed.json()).toMatchObject({ error: { type: "api_error" } });
    expect((await post("spent", "other")).status).toBe(400); // the key is taken, by the failed request
    // The failed request created nothing; another key is carried out.
    expect(emulator.events().filter((e) => e.type === "customer.created")).toHaveLength(1);
    expect((await post("next", "n")).status).toBe(200);
    expect(emulator.events().filter((e) => e.type === "customer.created")).toHaveLength(2);
  });

  it("forgets idempotency keys when told to, as Stripe does after 24 hours: the same key then makes another object, and a saved 500 is no longer replayed", async () => {
    const { gateway, emulator } = await setup();
    const first = await gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "day-old" });
    expect((await gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "day-old" })).id).toBe(first.id);
    const draft = await gateway.createInvoiceDraft(raisePlan(first.id, "raise-day-old"));
    expect((await gateway.createInvoiceDraft(raisePlan(first.id, "raise-day-old"))).id).toBe(draft.id);
    // Raw requests: the gateway itself goes on past a saved 500 with the key's next one.
    const spent = () =>
      fetch(`${emulator.url}/v1/customers`, {
        method: "POST",
        headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded", "idempotency-key": "spent" },
        body: new URLSearchParams({ name: "n" }).toString(),
      }).then((r) => r.status);
    emulator.setRequestFault({ method: "POST", path: /^\/v1\/customers$/, mode: "error-saved" });
    expect(await spent()).toBe(500);
    emulator.setRequestFault(null);
    expect(await spent()).toBe(500);

    emulator.forgetIdempotencyKeys();
    const second = await gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "day-old" });
    expect(second.id).not.toBe(first.id);
    const stray = await gateway.createInvoiceDraft(raisePlan(first.id, "raise-day-old"));
    expect(stray.id).not.toBe(draft.id);
    expect(await spent()).toBe(200);
    expect(emulator.events().filter((e) => e.type === "customer.created")).toHaveLength(3);
    // Keys used after forgetting are remembered again.
    expect((await gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "day-old" })).id).toBe(second.id);
  });

  it("answers unknown ids with 404 resource_missing and a missing key with 401", async () => {
    const { gateway, emulator } = await setup();
    await expect(gateway.retrieveSubscription("sub_missing")).rejects.toMatchObject({
      constructor: StripeRequestError,
      status: 404,
      stripeCode: "resource_missing",
    });
    const unauthenticated = await fetch(`${emulator.url}/v1/customers/cus_1`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("expands ids named in expand[]", async () => {
    const { gateway, emulator } = await setup();
    const { session } = await startCheckout({ gateway, mode: "subscription" });
    await emulator.payCheckoutSession(session.id);
    const expanded = await fetch(`${emulator.url}/v1/checkout/sessions/${session.id}?expand[]=subscription&expand[]=line_items`, {
      headers: { authorization: "Bearer sk_test_x" },
    }).then((response) => response.json() as Promise<{ subscription: { object: string }; line_items: { data: unknown[] } }>);
    expect(expanded.subscription.object).toBe("subscription");
    expect(expanded.line_items.data).toHaveLength(1);
  });

  it("paginates paid invoices newest first", async () => {
    const { gateway, emulator } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "subscription", quantity: 1 });
    await emulator.payCheckoutSession(session.id);
    const { subscriptionId } = await gateway.retrieveCheckoutSession(session.id);
    for (let month = 0; month < 4; month += 1) await emulator.advanceSubscription(subscriptionId ?? "");
    const raw = await fetch(`${emulator.url}/v1/invoices?customer=${customer.id}&status=paid&limit=2`, {
      headers: { authorization: "Bearer sk_test_x" },
    }).then((response) => response.json() as Promise<{ data: Array<{ id: string }>; has_more: boolean }>);
    expect(raw.data).toHaveLength(2);
    expect(raw.has_more).toBe(true);
    const all = await gateway.listPaidInvoices(customer.id);
    expect(all).toHaveLength(5);
    expect(all.slice(0, 2).map((invoice) => invoice.id)).toEqual(raw.data.map((invoice) => invoice.id));
    expect(all.map((invoice) => invoice.number)).toEqual([...all.map((invoice) => invoice.number)].sort().reverse());
  });

  it("keeps its state across a restart with a dataDir", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "stripe-emulator-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const first = await setup({ dataDir });
    const { customer, session } = await startCheckout({ gateway: first.gateway, mode: "subscription" });
    await first.emulator.payCheckoutSession(session.id);
    const eventCount = first.emulator.events().length;
    await first.emulator.close();

    const second = await setup({ dataDir });
    const again = await second.gateway.createCustomer({ groupId: "grp_1", name: "Online Stores", idempotencyKey: "cus-subscription" });
    expect(again.id).toBe(customer.id);
    expect(await second.gateway.listPaidInvoices(customer.id)).toHaveLength(1);
    expect((await second.gateway.retrieveCheckoutSession(session.id)).status).toBe("complete");
    expect(second.emulator.events()).toHaveLength(eventCount);
  });
});

/** A customer with a paid monthly subscription (and so a card saved by Checkout). */
async function subscribed({ gateway, emulator, quantity = 2 }: { gateway: ReturnType<typeof createStripeGateway>; emulator: StripeEmulator; quantity?: number }) {
  const { customer, session } = await startCheckout({ gateway, mode: "subscription", quantity });
  await emulator.payCheckoutSession(session.id);
  const { subscriptionId } = await gateway.retrieveCheckoutSession(session.id);
  if (!subscriptionId) throw new Error("no subscription");
  return { customer, session, subscriptionId };
}

/** A one-off invoice as the product makes one: its draft, then its item, finalize and payment. */
const chargeNow = async (gateway: ReturnType<typeof createStripeGateway>, input: ReturnType<typeof raisePlan>) =>
  gateway.chargeInvoice({ ...input, invoiceId: (await gateway.createInvoiceDraft(input)).id });

const raisePlan = (customerId: string, idempotencyKey: string) => ({
  customerId,
  currency: "usd",
  unitAmount: 800,
  quantity: 3,
  description: "Plan raised to 5 packages",
  metadata: { groupId: "grp_1", purchaseId: "pur_raise" },
  idempotencyKey,
});

describe("Stripe emulator: expiring Checkout, one-off invoices, cancel and refund", () => {
  it("expires an open Checkout Session: expired event, no Pay button, paying it is refused", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { session } = await startCheckout({ gateway, mode: "subscription" });
    const expired = await gateway.expireCheckoutSession({ sessionId: session.id, idempotencyKey: "expire-1" });
    expect(expired).toMatchObject({ id: session.id, status: "expired", paymentStatus: "unpaid" });
    const event = await waitFor(() => verifiedEvents().find((candidate) => candidate.type === "checkout.session.expired"));
    expect(event.data.object).toMatchObject({ id: session.id, status: "expired" });

    const page = await fetch(session.url).then((response) => response.text());
    expect(page).not.toMatch(/<button[^>]*>Pay<\/button>/);
    expect(page).toContain("expired");
    const pay = await fetch(`${emulator.url}/checkout/${session.id}/pay`, { method: "POST", redirect: "manual" });
    expect(pay.status).toBe(410);
    expect((await gateway.retrieveCheckoutSession(session.id)).subscriptionId).toBeNull();
  });

  it("answers a session paid before it could be expired as complete, and the raw API says why", async () => {
    const { gateway, emulator } = await setup();
    const { session } = await startCheckout({ gateway, mode: "payment" });
    await emulator.payCheckoutSession(session.id);
    expect(await gateway.expireCheckoutSession({ sessionId: session.id, idempotencyKey: "expire-2" })).toMatchObject({ status: "complete" });
    const raw = await fetch(`${emulator.url}/v1/checkout/sessions/${session.id}/expire`, {
      method: "POST",
      headers: { authorization: "Bearer sk_test_x" },
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain('Only Checkout Sessions with a status in ["open"] can be expired');
  });

  it("saves the Checkout card as the customer's default payment method", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    const saved = await gateway.retrieveCustomer(customer.id);
    expect(saved.defaultPaymentMethodId).toMatch(/^pm_/);
    const subscription = await fetch(`${emulator.url}/v1/subscriptions/${subscriptionId}`, { headers: { authorization: "Bearer sk_test_x" } }).then(
      (response) => response.json() as Promise<{ default_payment_method: string }>,
    );
    expect(subscription.default_payment_method).toBe(saved.defaultPaymentMethodId);
  });

  it("charges added packages on a one-off invoice paid at once with the saved card, once per idempotency key", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const invoice = await chargeNow(gateway, raisePlan(customer.id, "raise-a"));
    expect(invoice).toMatchObject({
      customerId: customer.id,
      subscriptionId: null,
      billingReason: "manual",
      paid: true,
      total: 2400,
      amountPaid: 2400,
      quantity: 3,
      currency: "usd",
      description: "Plan raised to 5 packages",
      metadata: { groupId: "grp_1", purchaseId: "pur_raise" },
    });
    expect(invoice.hostedInvoiceUrl).toContain(`/invoices/${invoice.id}`);
    const again = await chargeNow(gateway, raisePlan(customer.id, "raise-a"));
    expect(again.id).toBe(invoice.id);

    const paidEvents = () => verifiedEvents().filter((event) => event.type === "invoice.paid" && event.data.object.id === invoice.id);
    await waitFor(() => paidEvents().length === 1);
    // One payment for the subscription's first invoice, one for the raise, none for the replay.
    expect(emulator.events().filter((event) => event.type === "payment_intent.succeeded")).toHaveLength(2);
    const invoices = await gateway.listPaidInvoices(customer.id);
    expect(invoices.map((paid) => paid.total.amount)).toEqual([2400, 3000]);
  });

  it("charges a one-off invoice step by step by its own state: with its keys forgotten (24 h), its item is not added twice and a paid invoice is not charged again", async () => {
    const { gateway, emulator } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const input = raisePlan(customer.id, "raise-forgotten");
    const draft = await gateway.createInvoiceDraft(input);
    // Its item is added, then finalizing it fails (Stripe's 500, nothing saved) until the keys are forgotten.
    emulator.setRequestFault({ method: "POST", path: /^\/v1\/invoices\/[^/]+\/finalize$/, mode: "error" });
    await expect(gateway.chargeInvoice({ ...input, invoiceId: draft.id })).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.forgetIdempotencyKeys();
    emulator.setRequestFault(null);
    const invoice = await gateway.chargeInvoice({ ...input, invoiceId: draft.id });
    expect(invoice).toMatchObject({ id: draft.id, paid: true, total: 2400, quantity: 3 });
    emulator.forgetIdempotencyKeys();
    expect(await gateway.chargeInvoice({ ...input, invoiceId: draft.id })).toMatchObject({ id: draft.id, paid: true, total: 2400 });
    const stripe = new Stripe("sk_test_emulator", { host: new URL(emulator.url).hostname, port: Number(new URL(emulator.url).port), protocol: "http" });
    expect((await stripe.invoices.retrieve(draft.id)).lines.data).toHaveLength(1);
    // One payment for the subscription's first invoice, one for the raise.
    expect(emulator.events().filter((event) => event.type === "payment_intent.succeeded")).toHaveLength(2);
  });

  it("deletes a draft invoice with its items, refuses to delete a finalized one, and the gateway's void deletes drafts", async () => {
    const { gateway, emulator } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const stripe = new Stripe("sk_test_emulator", { host: new URL(emulator.url).hostname, port: Number(new URL(emulator.url).port), protocol: "http" });
    const draft = await stripe.invoices.create({ customer: customer.id, currency: "usd", pending_invoice_items_behavior: "exclude", auto_advance: false });
    const item = await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, currency: "usd", unit_amount_decimal: Stripe.Decimal.from(800), quantity: 1 });
    expect(await stripe.invoices.del(draft.id)).toEqual({ id: draft.id, object: "invoice", deleted: true });
    await expect(stripe.invoices.retrieve(draft.id)).rejects.toMatchObject({ statusCode: 404, code: "resource_missing" });
    await expect(stripe.invoiceItems.retrieve(item.id)).rejects.toMatchObject({ statusCode: 404 });
    expect(emulator.events().filter((event) => event.type === "invoice.deleted").map((event) => (event.data.object as { id: string }).id)).toEqual([draft.id]);

    const toFinalize = await stripe.invoices.create({ customer: customer.id, currency: "usd", auto_advance: false });
    await stripe.invoiceItems.create({ customer: customer.id, invoice: toFinalize.id, currency: "usd", unit_amount_decimal: Stripe.Decimal.from(800), quantity: 1 });
    const open = await stripe.invoices.finalizeInvoice(toFinalize.id);
    await expect(stripe.invoices.del(open.id)).rejects.toMatchObject({ statusCode: 400 });
    expect((await stripe.invoices.retrieve(open.id)).status).toBe("open");

    const other = await stripe.invoices.create({ customer: customer.id, currency: "usd", auto_advance: false });
    const unpaid = async () =>
      [...(await stripe.invoices.list({ customer: customer.id, status: "draft" })).data, ...(await stripe.invoices.list({ customer: customer.id, status: "open" })).data].map((i) => i.id).sort();
    expect(await unpaid()).toEqual([open.id, other.id].sort());
    expect(await gateway.voidInvoice({ invoiceId: other.id, idempotencyKey: "void-draft" })).toMatchObject({ id: other.id, paid: false, voided: true });
    expect(await gateway.voidInvoice({ invoiceId: open.id, idempotencyKey: "void-open" })).toMatchObject({ id: open.id, paid: false, voided: true });
    expect(await unpaid()).toEqual([]);
  });

  it("goes on past a key whose 500 Stripe saved: finalize, pay, void, a quantity update, a Checkout expiry and a whole refund take the next key of a fixed chain, once", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    const stripe = new Stripe("sk_test_emulator", { host: new URL(emulator.url).hostname, port: Number(new URL(emulator.url).port), protocol: "http" });
    const payments = () => emulator.events().filter((event) => event.type === "payment_intent.succeeded").length;
    const before = payments();
    const fail = (path: RegExp) => emulator.setRequestFault({ method: "POST", path, mode: "error-saved" });

    // The payment fails this way twice (each call spends one key), then Stripe works again.
    fail(/^\/v1\/invoices\/[^/]+\/pay$/);
    await expect(chargeNow(gateway, raisePlan(customer.id, "raise-saved"))).rejects.toBeInstanceOf(BillingUnavailableError);
    await expect(chargeNow(gateway, raisePlan(customer.id, "raise-saved"))).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setRequestFault(null);
    const paid = await chargeNow(gateway, raisePlan(customer.id, "raise-saved"));
    expect(paid).toMatchObject({ paid: true, total: 2400 });
    expect(await chargeNow(gateway, raisePlan(customer.id, "raise-saved"))).toMatchObject({ id: paid.id, paid: true });
    expect(payments()).toBe(before + 1);

    fail(/^\/v1\/invoices\/[^/]+\/finalize$/);
    await expect(chargeNow(gateway, raisePlan(customer.id, "raise-finalize"))).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setRequestFault(null);
    expect(await chargeNow(gateway, raisePlan(customer.id, "raise-finalize"))).toMatchObject({ paid: true, total: 2400 });
    expect(payments()).toBe(before + 2);

    const draft = await stripe.invoices.create({ customer: customer.id, currency: "usd", auto_advance: false });
    await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, currency: "usd", unit_amount_decimal: Stripe.Decimal.from(800), quantity: 1 });
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    fail(/^\/v1\/invoices\/[^/]+\/void$/);
    await expect(gateway.voidInvoice({ invoiceId: open.id, idempotencyKey: "void-saved" })).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setRequestFault(null);
    expect(await gateway.voidInvoice({ invoiceId: open.id, idempotencyKey: "void-saved" })).toMatchObject({ id: open.id, voided: true });

    fail(/^\/v1\/subscriptions\/[^/]+$/);
    const update = { subscriptionId, quantity: 4, prorationBehavior: "none" as const, idempotencyKey: "quantity-saved" };
    await expect(gateway.updateSubscriptionQuantity(update)).rejects.toBeInstanceOf(BillingUnavailableError);
    expect((await gateway.retrieveSubscription(subscriptionId)).quantity).toBe(2); // the failed update did nothing
    emulator.setRequestFault(null);
    expect(await gateway.updateSubscriptionQuantity(update)).toMatchObject({ quantity: 4 });
    expect((await gateway.retrieveSubscription(subscriptionId)).quantity).toBe(4);

    const { session } = await startCheckout({ gateway, mode: "payment" });
    fail(/^\/v1\/checkout\/sessions\/[^/]+\/expire$/);
    await expect(gateway.expireCheckoutSession({ sessionId: session.id, idempotencyKey: "expire-saved" })).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setRequestFault(null);
    expect(await gateway.expireCheckoutSession({ sessionId: session.id, idempotencyKey: "expire-saved" })).toMatchObject({ status: "expired" });

    // A whole refund too (Stripe never refunds a charge twice); every later call answers the same refund.
    fail(/^\/v1\/refunds$/);
    await expect(gateway.refundInvoice({ invoiceId: paid.id, idempotencyKey: "refund-saved" })).rejects.toBeInstanceOf(BillingUnavailableError);
    emulator.setRequestFault(null);
    const refund = await gateway.refundInvoice({ invoiceId: paid.id, idempotencyKey: "refund-saved" });
    expect(refund).toMatchObject({ amount: 2400 });
    expect(await gateway.refundInvoice({ invoiceId: paid.id, idempotencyKey: "refund-saved" })).toMatchObject({ id: refund.id });
    expect(emulator.events().filter((event) => event.type === "refund.created")).toHaveLength(1);
  });

  it("still retries a step under the key chain once when Stripe answers 409 (a request with its key under way), as the SDK did", async () => {
    const { gateway, emulator } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    // A hop in front of the emulator that answers the first void 409, as Stripe does while a request with the same key runs.
    let conflicts = 0;
    const hop = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        if (req.method === "POST" && /\/void$/.test(req.url ?? "") && conflicts++ === 0) {
          res.writeHead(409, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { type: "idempotency_error", message: "There is currently another in-progress request using this Idempotent Key." } }));
          return;
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "content-length", "connection"].includes(k)).map(([k, v]) => [k, String(v)]));
        const body = Buffer.concat(chunks);
        const answer = await fetch(`${emulator.url}${req.url ?? "/"}`, { method: req.method, headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) });
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })();
    });
    await new Promise<void>((ok) => hop.listen(0, "127.0.0.1", ok));
    cleanups.push(() => new Promise<void>((ok) => hop.close(() => ok())));
    const viaHop = createStripeGateway({ secretKey: "sk_test_x", apiBase: `http://127.0.0.1:${(hop.address() as { port: number }).port}`, webhookSecret: WEBHOOK_SECRET });
    const stripe = new Stripe("sk_test_emulator", { host: new URL(emulator.url).hostname, port: Number(new URL(emulator.url).port), protocol: "http" });
    const draft = await stripe.invoices.create({ customer: customer.id, currency: "usd", auto_advance: false });
    await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id, currency: "usd", unit_amount_decimal: Stripe.Decimal.from(800), quantity: 1 });
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    expect(await viaHop.voidInvoice({ invoiceId: open.id, idempotencyKey: "void-conflict" })).toMatchObject({ id: open.id, voided: true });
    expect(conflicts).toBe(2);
  });

  it("declines the saved card when told to: the invoice stays unpaid, invoice.payment_failed is sent, the next key pays", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const control = await fetch(`${emulator.url}/_emulator/customers/${customer.id}/decline-next`, {
      method: "POST",
      headers: { "x-emulator-control-token": emulator.controlToken },
    });
    expect(control.status).toBe(200);

    const declined = await chargeNow(gateway, raisePlan(customer.id, "raise-declined")).catch((error: unknown) => error);
    expect(declined).toBeInstanceOf(CardDeclinedError);
    expect(declined).toMatchObject({ code: "payment_failed", declineCode: "generic_decline", message: "Your card was declined." });
    // The same key keeps its answer; nothing is charged.
    await expect(chargeNow(gateway, raisePlan(customer.id, "raise-declined"))).rejects.toBeInstanceOf(CardDeclinedError);
    await waitFor(() => verifiedEvents().find((event) => event.type === "invoice.payment_failed"));
    await waitFor(() => verifiedEvents().find((event) => event.type === "payment_intent.payment_failed"));
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);

    expect((await chargeNow(gateway, raisePlan(customer.id, "raise-retry"))).paid).toBe(true);
  });

  it("refuses to charge an invoice to a customer without a saved card", async () => {
    const { gateway } = await setup();
    const customer = await gateway.createCustomer({ groupId: "grp_1", name: "No card", idempotencyKey: "nocard" });
    await expect(chargeNow(gateway, raisePlan(customer.id, "raise-nocard"))).rejects.toMatchObject({
      constructor: StripeRequestError,
      status: 400,
      stripeCode: "missing",
    });
  });

  it("takes pending invoice items into an invoice with pending_invoice_items_behavior=include", async () => {
    const { gateway, emulator } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const post = (path: string, body: Record<string, string>) =>
      fetch(`${emulator.url}/v1${path}`, {
        method: "POST",
        headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body).toString(),
      }).then(async (response) => ({ status: response.status, json: (await response.json()) as Record<string, unknown> }));
    const item = await post("/invoiceitems", { customer: customer.id, currency: "usd", amount: "1200", description: "Extra" });
    expect(item).toMatchObject({ status: 200, json: { object: "invoiceitem", amount: 1200, invoice: null } });
    const draft = await post("/invoices", { customer: customer.id, pending_invoice_items_behavior: "include" });
    expect(draft.json).toMatchObject({ status: "draft", total: 1200, number: null });
    const finalized = await post(`/invoices/${String(draft.json.id)}/finalize`, {});
    expect(finalized.json).toMatchObject({ status: "open", amount_due: 1200 });
    const paid = await post(`/invoices/${String(draft.json.id)}/pay`, {});
    expect(paid.json).toMatchObject({ status: "paid", amount_paid: 1200 });
    const excluded = await post("/invoices", { customer: customer.id, pending_invoice_items_behavior: "exclude" });
    expect(excluded.json).toMatchObject({ total: 0 });
  });

  it("changes a plan's quantity without any invoice under proration_behavior none; the next period bills the new quantity", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator, quantity: 2 });
    const updated = await gateway.updateSubscriptionQuantity({ subscriptionId, quantity: 5, idempotencyKey: "qty-5", prorationBehavior: "none" });
    expect(updated.quantity).toBe(5);
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);
    await emulator.advanceSubscription(subscriptionId);
    const [renewal] = await gateway.listPaidInvoices(customer.id);
    expect(renewal?.total.amount).toBe(5 * 1500);
  });

  it("cancels the later of two subscriptions and refunds its invoice (the two-Checkouts race)", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const first = await subscribed({ gateway, emulator, quantity: 2 });
    const other = await gateway.createCheckoutSession({
      customerId: first.customer.id,
      mode: "subscription",
      productName: "1,000 group credits",
      unitAmount: 1500,
      currency: "usd",
      quantity: 3,
      successUrl: "http://app.test/ok",
      cancelUrl: "http://app.test/cancel",
      metadata: { groupId: "grp_1", purchaseId: "pur_second" },
      idempotencyKey: "cs-second",
    });
    await emulator.payCheckoutSession(other.id);
    const subscriptions = await gateway.listSubscriptions(first.customer.id);
    expect(subscriptions).toHaveLength(2);
    const later = await gateway.retrieveCheckoutSession(other.id);
    if (!later.subscriptionId || !later.invoiceId) throw new Error("second checkout not paid");

    const canceled = await gateway.cancelSubscription({ subscriptionId: later.subscriptionId });
    expect(canceled.status).toBe("canceled");
    expect((await gateway.cancelSubscription({ subscriptionId: later.subscriptionId })).status).toBe("canceled");
    const refund = await gateway.refundInvoice({ invoiceId: later.invoiceId, idempotencyKey: "refund-second" });
    expect(refund).toMatchObject({ amount: 4500, currency: "usd", status: "succeeded" });
    expect(await gateway.refundInvoice({ invoiceId: later.invoiceId, idempotencyKey: "refund-second" })).toEqual(refund);
    await expect(gateway.refundInvoice({ invoiceId: later.invoiceId, idempotencyKey: "refund-again" })).rejects.toMatchObject({
      constructor: StripeRequestError,
      stripeCode: "charge_already_refunded",
    });

    expect((await gateway.listSubscriptions(first.customer.id)).map((subscription) => subscription.id)).toEqual([first.subscriptionId]);
    const refunded = await waitFor(() => verifiedEvents().find((event) => event.type === "charge.refunded"));
    if (refunded.type !== "charge.refunded") throw new Error("unexpected event");
    expect(refunded.data.object).toMatchObject({ amount_refunded: 4500, refunded: true });
    await waitFor(() => verifiedEvents().find((event) => event.type === "customer.subscription.deleted"));
  });

  it("keeps a renewal whose card is declined open and the subscription past due, until that invoice is paid", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    await emulator.declineNextCharges(customer.id);
    await emulator.advanceSubscription(subscriptionId);
    expect((await gateway.retrieveSubscription(subscriptionId)).status).toBe("past_due");
    const failed = await waitFor(() => verifiedEvents().find((event) => event.type === "invoice.payment_failed"));
    if (failed.type !== "invoice.payment_failed") throw new Error("unexpected event");
    expect(failed.data.object).toMatchObject({ billing_reason: "subscription_cycle", status: "open", attempt_count: 1 });
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);

    // Paid later (Stripe's retry, or the hosted page): the subscription is active again, as on Stripe.
    const paid = await fetch(`${emulator.url}/v1/invoices/${failed.data.object.id}/pay`, { method: "POST", headers: { authorization: "Bearer sk_test_x" } });
    expect(paid.status).toBe(200);
    expect((await gateway.retrieveSubscription(subscriptionId)).status).toBe("active");
    await waitFor(() =>
      verifiedEvents().find((event) => event.type === "customer.subscription.updated" && event.data.previous_attributes?.status === "past_due"),
    );
  });
});

/** Submits the portal form whose button says `button`, as a browser would (hidden fields included). */
async function submitPortalForm({ pageUrl, button, fields = {} }: { pageUrl: string; button: string; fields?: Record<string, string> }) {
  const html = await fetch(pageUrl).then((response) => response.text());
  const form = [...html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((match) =>
    new RegExp(`<button[^>]*>${button}</button>`).test(match[2] ?? ""),
  );
  if (!form?.[1]) throw new Error(`no "${button}" button on the portal page`);
  const hidden: Record<string, string> = {};
  for (const match of (form[2] ?? "").matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[match[1] ?? ""] = match[2] ?? "";
  return fetch(new URL(form[1], pageUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...hidden, ...fields }).toString(),
    redirect: "manual",
  });
}

describe("Stripe emulator: customer portal", () => {
  it("shows the plan with Cancel plan and Update quantity; cancelling at period end and resuming send subscription updates", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator, quantity: 2 });
    const portal = await gateway.createPortalSession({ customerId: customer.id, returnUrl: "http://app.test/groups/grp_1/billing" });
    expect(portal.url).toMatch(new RegExp(`^${emulator.url}/p/session/test_`));
    const page = await fetch(portal.url).then((response) => response.text());
    expect(page).toContain("2 packages · $30.00 / month");
    expect(page).toContain("Renews on");
    expect(page).toMatch(/<button[^>]*>Cancel plan<\/button>/);
    expect(page).toMatch(/<button[^>]*>Update quantity<\/button>/);
    expect(page).toContain('<label for="quantity-');
    expect(page).toContain('href="http://app.test/groups/grp_1/billing">Return to Group Billing</a>');

    const cancelled = await submitPortalForm({ pageUrl: portal.url, button: "Cancel plan" });
    expect(cancelled.status).toBe(303);
    expect((await gateway.retrieveSubscription(subscriptionId)).cancelAtPeriodEnd).toBe(true);
    const after = await fetch(portal.url).then((response) => response.text());
    expect(after).toContain("Cancels on");
    expect(after).toMatch(/<button[^>]*>Resume plan<\/button>/);
    const updated = await waitFor(() =>
      verifiedEvents().find((event) => event.type === "customer.subscription.updated" && event.data.object.cancel_at_period_end),
    );
    if (updated.type !== "customer.subscription.updated") throw new Error("unexpected event");
    expect(updated.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });

    await submitPortalForm({ pageUrl: portal.url, button: "Resume plan" });
    expect((await gateway.retrieveSubscription(subscriptionId)).cancelAtPeriodEnd).toBe(false);
    await waitFor(() =>
      verifiedEvents().find(
        (event) => event.type === "customer.subscription.updated" && event.data.previous_attributes?.cancel_at_period_end === true,
      ),
    );
  });

  it("ends a plan cancelled in the portal at the period end, with customer.subscription.deleted", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    const portal = await gateway.createPortalSession({ customerId: customer.id, returnUrl: "http://app.test/" });
    await submitPortalForm({ pageUrl: portal.url, button: "Cancel plan" });
    await emulator.advanceSubscription(subscriptionId);
    expect((await gateway.retrieveSubscription(subscriptionId)).status).toBe("canceled");
    await waitFor(() => verifiedEvents().find((event) => event.type === "customer.subscription.deleted"));
    expect(await fetch(portal.url).then((response) => response.text())).toContain("No active plan.");
  });

  it("lowers the quantity from the next period: unchanged now, applied and billed at the renewal", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator, quantity: 3 });
    const portal = await gateway.createPortalSession({ customerId: customer.id, returnUrl: "http://app.test/" });
    expect((await submitPortalForm({ pageUrl: portal.url, button: "Update quantity", fields: { quantity: "1" } })).status).toBe(303);

    const pending = await gateway.retrieveSubscription(subscriptionId);
    expect(pending).toMatchObject({ quantity: 3, scheduledQuantity: 1 });
    expect(await fetch(portal.url).then((response) => response.text())).toContain("Changes to 1 packages on");
    await waitFor(() => verifiedEvents().find((event) => event.type === "customer.subscription.updated" && event.data.object.schedule !== null));

    await emulator.advanceSubscription(subscriptionId);
    const renewed = await gateway.retrieveSubscription(subscriptionId);
    expect(renewed).toMatchObject({ quantity: 1, scheduledQuantity: null, status: "active" });
    const [renewal] = await gateway.listPaidInvoices(customer.id);
    expect(renewal?.total.amount).toBe(1500);
    const applied = await waitFor(() =>
      verifiedEvents().find((event) => event.type === "customer.subscription.updated" && event.data.object.items.data[0]?.quantity === 1),
    );
    expect(applied.type).toBe("customer.subscription.updated");
  });

  it("a quantity set through the API releases a scheduled lowering: the renewal bills what was set; a released schedule cannot be released again", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator, quantity: 3 });
    const portal = await gateway.createPortalSession({ customerId: customer.id, returnUrl: "http://app.test/" });
    await submitPortalForm({ pageUrl: portal.url, button: "Update quantity", fields: { quantity: "1" } });
    const created = await waitFor(() => verifiedEvents().find((event) => event.type === "subscription_schedule.created"));
    const scheduleId = (created.data.object as { id: string }).id;
    expect(await gateway.subscriptionOfSchedule(scheduleId)).toBe(subscriptionId);

    const updated = await gateway.updateSubscriptionQuantity({ subscriptionId, quantity: 4, idempotencyKey: "qty-4", prorationBehavior: "none" });
    expect(updated).toMatchObject({ quantity: 4, scheduledQuantity: null });
    await waitFor(() => verifiedEvents().find((event) => event.type === "subscription_schedule.released"));
    expect(await gateway.subscriptionOfSchedule(scheduleId)).toBe(subscriptionId); // released_subscription
    const again = await fetch(`${emulator.url}/v1/subscription_schedules/${scheduleId}/release`, { method: "POST", headers: { authorization: "Bearer sk_test_x" } });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain("`released` status");

    await emulator.advanceSubscription(subscriptionId);
    expect(await gateway.retrieveSubscription(subscriptionId)).toMatchObject({ quantity: 4, scheduledQuantity: null });
    const [renewal] = await gateway.listPaidInvoices(customer.id);
    expect(renewal?.total.amount).toBe(4 * 1500);
  });

  it("refuses a raise or a forged form, and changes nothing", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator, quantity: 2 });
    const portal = await gateway.createPortalSession({ customerId: customer.id, returnUrl: "http://app.test/" });
    const raise = await submitPortalForm({ pageUrl: portal.url, button: "Update quantity", fields: { quantity: "5" } });
    expect(raise.headers.get("location")).toContain("notice=invalid_quantity");
    const forged = await submitPortalForm({ pageUrl: portal.url, button: "Cancel plan", fields: { form_token: "forged" } });
    expect(forged.status).toBe(403);
    expect(await gateway.retrieveSubscription(subscriptionId)).toMatchObject({ quantity: 2, scheduledQuantity: null, cancelAtPeriodEnd: false });
    const unknown = await fetch(`${emulator.url}/p/session/test_nope`);
    expect(unknown.status).toBe(404);
  });
});

describe("Stripe emulator: off-session PaymentIntents on the saved card", () => {
  const topUp = (customerId: string, idempotencyKey: string) => ({
    customerId,
    amount: 1600,
    currency: "usd",
    description: "Automatic top-up · 2 packages",
    metadata: { groupId: "grp_1", purchaseId: "pur_top_up" },
    idempotencyKey,
  });

  it("charges the default card at once, once per idempotency key, with payment_intent.succeeded", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    const paid = await gateway.createOffSessionPayment(topUp(customer.id, "top-up-1"));
    const { defaultPaymentMethodId } = await gateway.retrieveCustomer(customer.id);
    expect(paid).toMatchObject({ status: "succeeded", amount: 1600, amountReceived: 1600, currency: "usd", customerId: customer.id, paymentMethodId: defaultPaymentMethodId });
    expect((await gateway.createOffSessionPayment(topUp(customer.id, "top-up-1"))).id).toBe(paid.id);
    expect(await gateway.retrievePaymentIntent(paid.id)).toEqual(paid);
    const succeeded = await waitFor(() =>
      verifiedEvents().find((event) => event.type === "payment_intent.succeeded" && event.data.object.id === paid.id),
    );
    if (succeeded.type !== "payment_intent.succeeded") throw new Error("unexpected event");
    expect(succeeded.data.object.metadata).toEqual({ groupId: "grp_1", purchaseId: "pur_top_up" });
    expect(emulator.events().filter((event) => event.type === "payment_intent.succeeded" && event.data.object.amount === 1600)).toHaveLength(1);
  });

  it("answers Stripe's card_declined error when the card declines, sends payment_intent.payment_failed, and the replay says the same", async () => {
    const { gateway, emulator, verifiedEvents } = await setup();
    const { customer } = await subscribed({ gateway, emulator });
    await emulator.declineNextCharges(customer.id);
    const declined = await gateway.createOffSessionPayment(topUp(customer.id, "top-up-declined")).catch((error: unknown) => error);
    expect(declined).toBeInstanceOf(CardDeclinedError);
    expect(declined).toMatchObject({ code: "payment_failed", declineCode: "generic_decline", paymentIntentId: expect.stringMatching(/^pi_/) as unknown });
    await expect(gateway.createOffSessionPayment(topUp(customer.id, "top-up-declined"))).rejects.toBeInstanceOf(CardDeclinedError);
    const failed = await waitFor(() => verifiedEvents().find((event) => event.type === "payment_intent.payment_failed"));
    if (failed.type !== "payment_intent.payment_failed") throw new Error("unexpected event");
    expect(failed.data.object.last_payment_error).toMatchObject({ type: "card_error", code: "card_declined", decline_code: "generic_decline" });

    // The raw answer has Stripe's shape.
    await emulator.declineNextCharges(customer.id);
    const { defaultPaymentMethodId } = await gateway.retrieveCustomer(customer.id);
    const raw = await fetch(`${emulator.url}/v1/payment_intents`, {
      method: "POST",
      headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        customer: customer.id,
        amount: "1600",
        currency: "usd",
        payment_method: defaultPaymentMethodId ?? "",
        off_session: "true",
        confirm: "true",
      }).toString(),
    });
    expect(raw.status).toBe(402);
    const body = (await raw.json()) as { error: Record<string, unknown> & { payment_intent: { id: string; status: string } } };
    expect(body.error).toMatchObject({ type: "card_error", code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." });
    expect(body.error.payment_intent.status).toBe("requires_payment_method");
    expect(body.error.charge).toMatch(/^ch_/);

    expect((await gateway.createOffSessionPayment(topUp(customer.id, "top-up-after"))).status).toBe("succeeded");
  });

  it("refuses an off-session payment for a customer without a saved card", async () => {
    const { gateway } = await setup();
    const customer = await gateway.createCustomer({ groupId: "grp_1", name: "No card", idempotencyKey: "nocard-pi" });
    await expect(gateway.createOffSessionPayment(topUp(customer.id, "top-up-nocard"))).rejects.toMatchObject({
      constructor: StripeRequestError,
      stripeCode: "missing",
    });
  });
});

describe("Stripe emulator: controls need the per-run control token; Pay needs the page's form token", () => {
  it("refuses every control without the token, and with a wrong one", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    const { session } = await startCheckout({ gateway, mode: "payment" });
    const attempts: Array<[string, string]> = [
      ["POST", "/_emulator/fault"],
      ["POST", `/_emulator/subscriptions/${subscriptionId}/advance`],
      ["POST", `/_emulator/checkout/sessions/${session.id}/pay`],
      ["POST", `/_emulator/customers/${customer.id}/decline-next`],
      ["GET", "/_emulator/dashboard"],
      ["GET", "/_emulator/subscriptions"],
    ];
    for (const [method, path] of attempts) {
      for (const headers of [{}, { "x-emulator-control-token": "emu_wrong" }] as Array<Record<string, string>>) {
        const response = await fetch(`${emulator.url}${path}`, {
          method,
          headers: { "content-type": "application/json", ...headers },
          ...(method === "POST" ? { body: JSON.stringify({ mode: "error" }) } : {}),
        });
        expect(`${method} ${path} ${response.status}`).toBe(`${method} ${path} 401`);
      }
    }
    // Nothing happened: no fault, no renewal, no payment.
    expect((await gateway.retrieveCheckoutSession(session.id)).status).toBe("open");
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(1);
    await expect(gateway.createCustomer({ groupId: "g", name: "n", idempotencyKey: "still-up" })).resolves.toHaveProperty("id");
    // The product's API port never serves them either: the old open dashboard path is gone.
    expect((await fetch(`${emulator.url}/subscriptions/${subscriptionId}/advance`, { method: "POST" })).status).toBe(404);
  });

  it("serves the dashboard with the token, and its Advance button renews through a form carrying the token", async () => {
    const { gateway, emulator } = await setup();
    const { customer, subscriptionId } = await subscribed({ gateway, emulator });
    const dashboard = await fetch(emulator.dashboardUrl);
    expect(dashboard.status).toBe(200);
    const html = await dashboard.text();
    expect(html).toContain(subscriptionId);
    const form = /<form method="post" action="([^"]+)"><input type="hidden" name="control_token" value="([^"]+)">/.exec(html);
    expect(form?.[2]).toBe(emulator.controlToken);
    const advanced = await fetch(new URL(form?.[1] ?? "", emulator.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ control_token: form?.[2] ?? "" }).toString(),
      redirect: "manual",
    });
    expect(advanced.status).toBe(303);
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(2);
    const listed = await fetch(`${emulator.url}/_emulator/subscriptions?customer=${customer.id}`, {
      headers: { "x-emulator-control-token": emulator.controlToken },
    }).then((response) => response.json() as Promise<{ data: Array<{ id: string }> }>);
    expect(listed.data.map((subscription) => subscription.id)).toEqual([subscriptionId]);
  });

  it("refuses Pay without the page's form token (another site posting the form) and charges nothing", async () => {
    const { gateway, emulator } = await setup();
    const { customer, session } = await startCheckout({ gateway, mode: "payment" });
    for (const body of ["", "form_token=forged"]) {
      const forged = await fetch(`${emulator.url}/checkout/${session.id}/pay`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        redirect: "manual",
      });
      expect(forged.status).toBe(403);
    }
    expect((await gateway.retrieveCheckoutSession(session.id)).status).toBe("open");
    expect(await gateway.listPaidInvoices(customer.id)).toHaveLength(0);
    expect((await pressPay(emulator, session.url)).status).toBe(303);
  });
});

