import type { Clock } from "../../clock.js";
import type { Config } from "../../config.js";
import type { Database, Query } from "../../db/client.js";
import { endMonthlyCredits, grantMonthlyPeriod } from "../ledger/index.js";
import { findPlan, grantOneTimePurchase, lockGroupBilling, lockPurchase, markPurchase, upsertPlan, type PlanRow } from "./fulfilment.js";
import type { CheckoutSessionState, StripeEventLike, StripePort, SubscriptionState } from "./ports.js";

/**
 * Stripe webhooks. An event is only a trigger: the objects it names are read again from Stripe,
 * so handlers converge to Stripe's state whatever the order, and every effect is idempotent.
 * One dispatcher for every event type; each event id takes effect at most once.
 */

interface Ctx {
  database: Database;
  stripe: StripePort;
  config: Config;
  clock: Clock;
}

const planStatus = (s: string): PlanRow["status"] =>
  s === "active" || s === "trialing" ? "active" : s === "past_due" || s === "unpaid" || s === "incomplete" ? "past_due" : "canceled";

async function groupOfSubscription(query: Query, sub: SubscriptionState) {
  if (sub.metadata.groupId) {
    const { rows } = await query<{ id: string }>("select id from groups where id = $1", [sub.metadata.groupId]);
    if (rows[0]) return rows[0].id;
  }
  const { rows } = await query<{ group_id: string }>("select group_id from plans where stripe_subscription_id = $1", [sub.id]);
  return rows[0]?.group_id ?? null;
}

async function syncPlan(query: Query, groupId: string, sub: SubscriptionState) {
  return upsertPlan(query, {
    groupId,
    provider: "stripe",
    subscriptionId: sub.id,
    quantity: sub.quantity,
    status: planStatus(sub.status),
    periodStart: sub.currentPeriodStart,
    periodEnd: sub.currentPeriodEnd,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
  });
}

/** The grant of a subscription's period: quantity × package, one per (subscription, period). */
async function grantSubscriptionPeriod(query: Query, ctx: Ctx, groupId: string, sub: SubscriptionState, period: { start: Date; end: Date; quantity: number }, purchaseId: string | null) {
  await grantMonthlyPeriod(query, {
    now: ctx.clock(),
    groupId,
    periodStart: period.start,
    periodEnd: period.end,
    packages: period.quantity,
    credits: period.quantity * ctx.config.CREDITS_PER_PACKAGE,
    sourceKey: `stripe-period:${sub.id}:${period.start.toISOString()}`,
    purchaseId,
  });
}

/** Grant what a paid Checkout Session bought; used by the webhook and by the page's status poll. */
export async function fulfilCheckoutSession(ctx: Ctx & { session: CheckoutSessionState }) {
  const { session } = ctx;
  const purchaseId = session.metadata.purchaseId;
  if (!purchaseId) return;
  const paid = session.paymentStatus === "paid" || session.paymentStatus === "no_payment_required";
  const sub = paid && session.subscriptionId ? await ctx.stripe.retrieveSubscription(session.subscriptionId) : null;
  await ctx.database.transaction(async (q) => {
    const { rows } = await q<{ group_id: string }>("select group_id from purchases where id = $1", [purchaseId]);
    if (!rows[0]) return;
    await lockGroupBilling(q, rows[0].group_id);
    const purchase = await lockPurchase(q, purchaseId);
    if (!purchase || purchase.status === "completed") return;
    if (!paid) {
      if (session.status === "expired") await markPurchase(q, purchase.id, "cancelled", "The checkout session expired.");
      return;
    }
    if (purchase.type === "one_time") return grantOneTimePurchase(q, purchase);
    if (!sub) return;
    await syncPlan(q, purchase.group_id, sub);
    if (planStatus(sub.status) === "active") {
      await grantSubscriptionPeriod(q, ctx, purchase.group_id, sub, { start: sub.currentPeriodStart, end: sub.currentPeriodEnd, quantity: sub.quantity }, purchase.id);
    }
    await markPurchase(q, purchase.id, "completed");
  });
}

async function onInvoicePaid(ctx: Ctx, invoiceId: string) {
  const invoice = await ctx.stripe.retrieveInvoice(invoiceId);
  if (!invoice.paid || !invoice.subscriptionId) return; // one-time invoices are granted through their Checkout Session
  // A quantity raise bills through a `subscription_update` invoice; its credits were granted with the purchase.
  if (invoice.billingReason !== "subscription_create" && invoice.billingReason !== "subscription_cycle") return;
  const sub = await ctx.stripe.retrieveSubscription(invoice.subscriptionId);
  if (!sub) return;
  await ctx.database.transaction(async (q) => {
    const groupId = await groupOfSubscription(q, sub);
    if (!groupId) return; // not ours
    // The lock order of every billing change: billing profile, purchase, plan, grants.
    await lockGroupBilling(q, groupId);
    const purchase = invoice.billingReason === "subscription_create" && sub.metadata.purchaseId ? await lockPurchase(q, sub.metadata.purchaseId) : null;
    const plan = await findPlan(q, groupId, true);
    if (!plan || plan.current_period_start.getTime() <= sub.currentPeriodStart.getTime()) await syncPlan(q, groupId, sub);
    const quantity = invoice.quantity ?? sub.quantity;
    await grantSubscriptionPeriod(q, ctx, groupId, sub, { start: invoice.periodStart, end: invoice.periodEnd, quantity }, sub.metadata.purchaseId ?? null);
    if (purchase && purchase.group_id === groupId) await markPurchase(q, purchase.id, "completed");
  });
}

async function onSubscriptionChanged(ctx: Ctx, subscriptionId: string) {
  // A subscription Stripe no longer has is over: the plan is cancelled.
  const sub = await ctx.stripe.retrieveSubscription(subscriptionId).catch((err: unknown) => {
    if (isMissingStripeObject(err)) return null;
    throw err;
  });
  await ctx.database.transaction(async (q) => {
    if (!sub) {
      const { rows: owners } = await q<{ group_id: string }>("select group_id from plans where stripe_subscription_id = $1", [subscriptionId]);
      for (const r of owners) await lockGroupBilling(q, r.group_id);
      const { rows } = await q<{ group_id: string }>(
        "update plans set status = 'canceled', updated_at = now() where stripe_subscription_id = $1 returning group_id",
        [subscriptionId],
      );
      for (const r of rows) await endMonthlyCredits(q, { groupId: r.group_id, now: ctx.clock() });
      return;
    }
    const groupId = await groupOfSubscription(q, sub);
    if (!groupId) return;
    await lockGroupBilling(q, groupId);
    const plan = await syncPlan(q, groupId, sub);
    if (plan.status === "canceled") await endMonthlyCredits(q, { groupId, now: ctx.clock() });
  });
}

async function onAsyncPaymentFailed(ctx: Ctx, session: CheckoutSessionState) {
  const purchaseId = session.metadata.purchaseId;
  if (!purchaseId) return;
  await ctx.database.transaction(async (q) => {
    const purchase = await lockPurchase(q, purchaseId);
    if (purchase && purchase.status === "pending") await markPurchase(q, purchase.id, "failed", "The payment did not go through.");
  });
}

/** Returns false when the event was already processed. */
export async function handleStripeEvent(ctx: Ctx, event: StripeEventLike): Promise<boolean> {
  const { rows } = await ctx.database.query<{ processed_at: Date | null }>("select processed_at from webhook_events where id = $1", [event.id]);
  if (rows[0]?.processed_at) return false;
  const objectId = (event.data.object as { id?: string }).id ?? "";

  try {
    await dispatch(ctx, event, objectId);
  } catch (err) {
    // An event about an object Stripe does not know (another account's, or deleted test data) can never
    // take effect: acknowledge it instead of failing, which would make Stripe retry it for days.
    if (!isMissingStripeObject(err)) throw err;
  }

  await ctx.database.query(
    `insert into webhook_events (id, type, payload, processed_at) values ($1, $2, $3, now())
     on conflict (id) do update set processed_at = coalesce(webhook_events.processed_at, now())`,
    [event.id, event.type, JSON.stringify(event)],
  );
  return true;
}

/** Stripe answered 404 for the object an event names (the gateway's StripeRequestError). */
const isMissingStripeObject = (err: unknown) =>
  (err as { code?: unknown }).code === "stripe_request_failed" && (err as { status?: unknown }).status === 404;

async function dispatch(ctx: Ctx, event: StripeEventLike, objectId: string) {
  switch (event.type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
    case "checkout.session.expired":
      await fulfilCheckoutSession({ ...ctx, session: await ctx.stripe.retrieveCheckoutSession(objectId) });
      break;
    case "checkout.session.async_payment_failed":
      await onAsyncPaymentFailed(ctx, await ctx.stripe.retrieveCheckoutSession(objectId));
      break;
    case "invoice.paid":
    case "invoice.payment_succeeded":
      await onInvoicePaid(ctx, objectId);
      break;
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
      await onSubscriptionChanged(ctx, objectId);
      break;
    default:
      break; // other events are acknowledged and ignored
  }
}
