import { randomBytes } from "node:crypto";
import type Stripe from "stripe";
import type { BillingEngineContext } from "./billing-engine.js";
import { invalidParam, resourceMissing, StripeApiError, type PortalRecord } from "./emulator-state.js";
import { buildPortalSession, buildQuantitySchedule } from "./portal-objects.js";
import { nowSeconds } from "./stripe-objects.js";

/**
 * The customer portal's rules: portal sessions, and lowering a plan's quantity from the next
 * period through a subscription schedule that is applied (and released) when the period ends.
 */

/** POST /v1/billing_portal/sessions */
export function createPortalSession(
  ctx: BillingEngineContext,
  { customerId, returnUrl }: { customerId: string; returnUrl: string | null },
): Stripe.BillingPortal.Session {
  if (!ctx.state.customers[customerId]) throw resourceMissing({ kind: "customer", id: customerId, param: "customer" });
  const urlToken = `test_${randomBytes(24).toString("base64url")}`;
  const session = buildPortalSession({ customerId, returnUrl, url: `${ctx.publicUrl()}/p/session/${urlToken}` });
  ctx.state.portalSessions[urlToken] = { session, urlToken, formToken: randomBytes(24).toString("base64url") };
  ctx.emit({ type: "billing_portal.session.created", object: session });
  return session;
}

export function findPortal(ctx: BillingEngineContext, urlToken: string): PortalRecord | undefined {
  return ctx.state.portalSessions[urlToken];
}

function itemOf(subscription: Stripe.Subscription): Stripe.SubscriptionItem {
  const item = subscription.items.data[0];
  if (!item) throw new StripeApiError({ status: 500, type: "api_error", message: "Subscription has no items." });
  return item;
}

function scheduleOf(ctx: BillingEngineContext, subscription: Stripe.Subscription): Stripe.SubscriptionSchedule | null {
  const id = typeof subscription.schedule === "string" ? subscription.schedule : (subscription.schedule?.id ?? null);
  return id ? (ctx.state.subscriptionSchedules[id] ?? null) : null;
}

/** The quantity the subscription will have from its next period, when a schedule changes it. */
export function scheduledQuantity(ctx: BillingEngineContext, subscription: Stripe.Subscription): number | null {
  const schedule = scheduleOf(ctx, subscription);
  return schedule?.status === "active" ? (schedule.phases[1]?.items[0]?.quantity ?? null) : null;
}

/**
 * Lowers the quantity from the next period (the current period keeps what was paid for).
 * Choosing the current quantity again drops a pending change.
 */
export function scheduleQuantityChange(
  ctx: BillingEngineContext,
  { subscription, quantity }: { subscription: Stripe.Subscription; quantity: number },
): void {
  if (subscription.status === "canceled") throw new StripeApiError({ status: 400, message: "This plan has ended." });
  const item = itemOf(subscription);
  const current = item.quantity ?? 1;
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > current) {
    throw invalidParam({ param: "quantity", message: `Choose between 1 and ${current} packages. To add packages, buy them on the billing page.` });
  }
  const existing = scheduleOf(ctx, subscription);
  if (quantity === current) {
    if (existing) releaseSchedule(ctx, { subscription, schedule: existing });
    return;
  }
  if (existing) {
    const phase = existing.phases[1]?.items[0];
    if (phase && phase.quantity !== quantity) {
      phase.quantity = quantity;
      ctx.emit({ type: "subscription_schedule.updated", object: existing });
    }
    return;
  }
  const schedule = buildQuantitySchedule({ subscription, item, nextQuantity: quantity });
  ctx.state.subscriptionSchedules[schedule.id] = schedule;
  subscription.schedule = schedule.id;
  ctx.emit({ type: "subscription_schedule.created", object: schedule });
  ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { schedule: null } });
}

export function releaseSchedule(
  ctx: BillingEngineContext,
  { subscription, schedule }: { subscription: Stripe.Subscription; schedule: Stripe.SubscriptionSchedule },
): void {
  schedule.status = "released";
  schedule.released_at = nowSeconds();
  schedule.released_subscription = subscription.id;
  schedule.current_phase = null;
  schedule.subscription = null;
  subscription.schedule = null;
  ctx.emit({ type: "subscription_schedule.released", object: schedule });
  ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { schedule: schedule.id } });
}

/**
 * At a period's end: applies a scheduled quantity to the subscription and releases the schedule.
 * The caller then renews (and bills) the new period at the new quantity.
 */
export function applyScheduleAtPeriodEnd(ctx: BillingEngineContext, subscription: Stripe.Subscription): void {
  const schedule = scheduleOf(ctx, subscription);
  if (!schedule || schedule.status !== "active") return;
  const next = schedule.phases[1]?.items[0]?.quantity;
  if (next !== undefined) itemOf(subscription).quantity = next;
  releaseSchedule(ctx, { subscription, schedule });
}

/** Cancelling the plan drops a pending lowering: nothing renews, so nothing is lowered. */
export function dropSchedule(ctx: BillingEngineContext, subscription: Stripe.Subscription): void {
  const schedule = scheduleOf(ctx, subscription);
  if (schedule && schedule.status === "active") releaseSchedule(ctx, { subscription, schedule });
}

/** POST /v1/subscription_schedules/:id/release: stops the schedule; the subscription stays as it is now. */
export function releaseScheduleById(ctx: BillingEngineContext, id: string): Stripe.SubscriptionSchedule {
  const schedule = findSchedule(ctx, id);
  if (schedule.status !== "active" && schedule.status !== "not_started") {
    throw new StripeApiError({
      status: 400,
      message: `You cannot release a subscription schedule that is currently in the \`${schedule.status}\` status. It must be in \`not_started\` or \`active\`.`,
    });
  }
  // Every schedule here is made for its subscription (scheduleQuantityChange), which it names while active.
  const subscriptionId = typeof schedule.subscription === "string" ? schedule.subscription : (schedule.subscription?.id ?? "");
  const subscription = ctx.state.subscriptions[subscriptionId];
  if (!subscription) throw resourceMissing({ kind: "subscription", id: subscriptionId });
  releaseSchedule(ctx, { subscription, schedule });
  return schedule;
}

export function findSchedule(ctx: BillingEngineContext, id: string): Stripe.SubscriptionSchedule {
  const schedule = ctx.state.subscriptionSchedules[id];
  if (!schedule) throw resourceMissing({ kind: "subscription_schedule", id });
  return schedule;
}
