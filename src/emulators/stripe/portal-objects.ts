import type Stripe from "stripe";
import { newId, nowSeconds } from "./stripe-objects.js";

/** Builders for the customer portal: portal sessions and the schedule a "lower from next period" makes. */

export function buildPortalSession({
  customerId,
  returnUrl,
  url,
}: {
  customerId: string;
  returnUrl: string | null;
  url: string;
}): Stripe.BillingPortal.Session {
  return {
    id: newId("bps"),
    object: "billing_portal.session",
    configuration: "bpc_emulator_default",
    created: nowSeconds(),
    customer: customerId,
    customer_account: null,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: returnUrl,
    url,
  };
}

function buildPhase({
  subscription,
  item,
  quantity,
  start,
  end,
}: {
  subscription: Stripe.Subscription;
  item: Stripe.SubscriptionItem;
  quantity: number;
  start: number;
  end: number;
}): Stripe.SubscriptionSchedule.Phase {
  return {
    add_invoice_items: [],
    application_fee_percent: null,
    billing_cycle_anchor: null,
    billing_thresholds: null,
    collection_method: null,
    currency: subscription.currency,
    default_payment_method: null,
    description: null,
    discounts: [],
    end_date: end,
    invoice_settings: null,
    items: [{ billing_thresholds: null, discounts: [], metadata: {}, plan: item.plan.id, price: item.price.id, quantity }],
    metadata: {},
    on_behalf_of: null,
    proration_behavior: "none",
    start_date: start,
    transfer_data: null,
    trial_end: null,
  };
}

/**
 * A schedule that keeps the subscription as it is until its period ends, then changes its
 * quantity and releases the subscription (what the portal's "schedule at period end" does).
 */
export function buildQuantitySchedule({
  subscription,
  item,
  nextQuantity,
}: {
  subscription: Stripe.Subscription;
  item: Stripe.SubscriptionItem;
  nextQuantity: number;
}): Stripe.SubscriptionSchedule {
  const start = item.current_period_start;
  const switchAt = item.current_period_end;
  const nextEnd = switchAt + (item.current_period_end - item.current_period_start);
  return {
    id: newId("sub_sched"),
    object: "subscription_schedule",
    application: null,
    billing_mode: { flexible: null, type: "classic" },
    canceled_at: null,
    completed_at: null,
    created: nowSeconds(),
    current_phase: { start_date: start, end_date: switchAt },
    customer: typeof subscription.customer === "string" ? subscription.customer : subscription.customer.id,
    customer_account: null,
    default_settings: {
      application_fee_percent: null,
      billing_cycle_anchor: "automatic",
      billing_thresholds: null,
      collection_method: "charge_automatically",
      default_payment_method: null,
      description: null,
      invoice_settings: { account_tax_ids: null, custom_fields: null, days_until_due: null, description: null, footer: null, issuer: { type: "self" } },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: "release",
    livemode: false,
    metadata: {},
    pause_schedules: [],
    phases: [
      buildPhase({ subscription, item, quantity: item.quantity ?? 1, start, end: switchAt }),
      buildPhase({ subscription, item, quantity: nextQuantity, start: switchAt, end: nextEnd }),
    ],
    released_at: null,
    released_subscription: null,
    status: "active",
    subscription: subscription.id,
    test_clock: null,
  };
}
