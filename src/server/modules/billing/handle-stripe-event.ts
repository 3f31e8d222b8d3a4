import { endMonthlyCredits, grantMonthlyPeriod } from "../ledger/index.js";
import type { Query } from "../../db/client.js";
import type { BillingDeps } from "./billing-deps.js";
import { findPlan, grantOneTimePurchase, isGroupDeleted, lockGroupBilling, lockPurchase, markPurchase, setPurchaseRefs, upsertPlan, type PlanRow, type PurchaseRow } from "./billing-repo.js";
import { grantPurchase } from "./charge-partner.js";
import { isMissingStripeObject } from "./customer-deleted.js";
import type { CheckoutSessionState, InvoiceState, StripeEventLike, SubscriptionState } from "./ports.js";
import { isPurchaseInvoice, learnOwnInvoice, refundInvoiceCopy } from "./own-invoice.js";
import { applyRaiseInvoice, refundRaise, syncPlanQuantity } from "./raise-plan.js";

/**
 * Stripe webhooks. An event is only a trigger: the objects it names are read again from Stripe,
 * and nothing in them is trusted on its word (credits.md "Who owns what"): a Checkout Session
 * completes only the purchase whose own session it is, for that purchase's customer, amount and
 * currency; a subscription is ours only if our verified session created it (or our plan already
 * holds it) and its customer is the group's. Anything else is logged and acknowledged (2xx),
 * nothing granted. Every change takes the group's billing lock first.
 */

const planStatus = (s: string): PlanRow["status"] =>
  s === "active" || s === "trialing" ? "active" : s === "past_due" || s === "unpaid" || s === "incomplete" ? "past_due" : "canceled";

async function purchaseOfSession(deps: BillingDeps, sessionId: string) {
  const { rows } = await deps.database.query<PurchaseRow>("select * from purchases where stripe_checkout_session_id = $1", [sessionId]);
  return rows[0] ?? null;
}

async function customerOf(deps: BillingDeps, groupId: string) {
  const { rows } = await deps.database.query<{ stripe_customer_id: string | null }>("select stripe_customer_id from billing_profiles where group_id = $1", [groupId]);
  return rows[0]?.stripe_customer_id ?? null;
}

/** Grant what a paid Checkout Session bought; used by the webhook and by the settling loop. */
export async function fulfilCheckoutSession(deps: BillingDeps, session: CheckoutSessionState) {
  const purchase = await purchaseOfSession(deps, session.id);
  if (!purchase) {
    deps.logger.warn({ sessionId: session.id, claimed: session.metadata.purchaseId ?? null }, "checkout session of no purchase of ours; ignored");
    return;
  }
  const paid = session.paymentStatus === "paid" || session.paymentStatus === "no_payment_required";
  if (!paid) {
    if (session.status !== "expired") return;
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, purchase.group_id);
      await q("update purchases set status = 'cancelled', failure_reason = $2 where id = $1 and status = 'pending'", [purchase.id, "The checkout session expired."]);
    });
    return;
  }
  const customer = await customerOf(deps, purchase.group_id);
  const matches =
    session.customerId === customer &&
    session.amountTotal === Number(purchase.amount) &&
    (session.currency ?? "").toLowerCase() === purchase.currency.toLowerCase() &&
    session.mode === (purchase.type === "one_time" ? "payment" : "subscription");
  if (!matches) {
    deps.logger.error({ sessionId: session.id, purchaseId: purchase.id }, "checkout session does not match its purchase (customer, amount, currency or mode); nothing granted");
    return;
  }
  if (purchase.type === "one_time") {
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, purchase.group_id);
      const p = (await lockPurchase(q, purchase.id))!;
      if (p.status === "completed") return;
      await grantPurchase(deps, q, p, "stripe");
      await markPurchase(q, p.id, "completed");
    });
    return;
  }
  if (!session.subscriptionId) return;
  const sub = await deps.stripe.retrieveSubscription(session.subscriptionId);
  // The first month is what the session's own invoice paid (its period and packages), not the
  // subscription as it is now: fulfilled late (its webhooks after a renewal's), the subscription may be
  // in a later period, lowered in the portal since, or past due on a later renewal, and the first
  // payment would be granted the renewal's period, refused for its quantity, or granted nothing.
  const first = sub && session.invoiceId ? await deps.stripe.retrieveInvoice(session.invoiceId) : null;
  const firstPeriod =
    sub && first?.subscriptionId === sub.id
      ? { start: first.periodStart, end: first.periodEnd, quantity: first.quantity ?? sub.quantity, paid: first.paid }
      : sub && { start: sub.currentPeriodStart, end: sub.currentPeriodEnd, quantity: sub.quantity, paid: planStatus(sub.status) === "active" };
  if (!sub || !firstPeriod || sub.customerId !== customer || firstPeriod.quantity !== purchase.quantity) {
    deps.logger.error({ sessionId: session.id, purchaseId: purchase.id }, "subscription of a checkout does not match its purchase; nothing granted");
    return;
  }
  const duplicate = await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, purchase.group_id);
    const p = (await lockPurchase(q, purchase.id))!;
    await setPurchaseRefs(q, p.id, { stripeSubscriptionId: sub.id });
    if (p.status === "completed") return false;
    const plan = await findPlan(q, p.group_id, true);
    const live = !!plan && plan.status !== "canceled" && plan.current_period_end.getTime() > deps.clock().getTime();
    if (live && plan.stripe_subscription_id !== sub.id) {
      // One subscription per group: this later one is cancelled and refunded; nothing granted.
      await markPurchase(q, p.id, "failed", "The group already has a monthly plan; this payment was refunded.");
      return true;
    }
    await adoptSubscription(deps, q, p.group_id, sub, p.id, firstPeriod);
    await markPurchase(q, p.id, "completed");
    return false;
  });
  if (duplicate) {
    await deps.stripe.cancelSubscription({ subscriptionId: sub.id });
    const refund = session.invoiceId
      ? await deps.stripe.refundInvoice({ invoiceId: session.invoiceId, metadata: { reason: "second subscription of a group" }, idempotencyKey: `duplicate:${sub.id}` })
      : null;
    deps.logger.warn({ groupId: purchase.group_id, subscriptionId: sub.id, refunded: refund?.amount ?? 0 }, "second subscription of a group cancelled and refunded");
  }
}

/**
 * Our plan follows a verified subscription from its first period (the Checkout's invoice's, with the
 * packages it paid), which is granted; later periods are the renewals' (their paid invoices move the
 * plan, as in the usual order, and a lost one is read back once the first period has ended). A
 * subscription already past due on a later renewal still had its first month paid; one that has
 * ended grants nothing more (the caller holds the lock).
 */
async function adoptSubscription(
  deps: BillingDeps,
  q: Query,
  groupId: string,
  sub: SubscriptionState,
  purchaseId: string | null,
  first: { start: Date; end: Date; quantity: number; paid: boolean },
) {
  const status = planStatus(sub.status);
  await upsertPlan(q, {
    groupId,
    provider: "stripe",
    subscriptionId: sub.id,
    quantity: first.quantity,
    status,
    periodStart: first.start,
    periodEnd: first.end,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
  });
  if (status === "canceled" || !first.paid) return;
  await grantMonthlyPeriod(q, {
    groupId,
    periodStart: first.start,
    periodEnd: first.end,
    packages: first.quantity,
    credits: first.quantity * deps.config.CREDITS_PER_PACKAGE,
    sourceKey: `stripe-period:${sub.id}:${first.start.toISOString()}`,
    purchaseId,
    now: deps.clock(),
  });
}

/** The group whose plan holds this subscription, if the subscription's customer is that group's. */
async function groupOfSubscription(deps: BillingDeps, sub: { id: string; customerId: string | null }) {
  const { rows } = await deps.database.query<{ group_id: string; stripe_customer_id: string | null }>(
    `select p.group_id, bp.stripe_customer_id from plans p join billing_profiles bp on bp.group_id = p.group_id where p.stripe_subscription_id = $1`,
    [sub.id],
  );
  const r = rows[0];
  return r && r.stripe_customer_id === sub.customerId ? r.group_id : null;
}

/** The group a purchase of ours started this subscription for, once another plan replaced it (the customer's must be that group's). */
async function formerGroupOfSubscription(deps: BillingDeps, sub: { id: string; customerId: string | null }) {
  const { rows } = await deps.database.query<{ group_id: string }>(
    `select p.group_id from purchases p join billing_profiles bp on bp.group_id = p.group_id
      where p.stripe_subscription_id = $1 and bp.stripe_customer_id = $2 limit 1`,
    [sub.id, sub.customerId],
  );
  return rows[0]?.group_id ?? null;
}

/** The Checkout Session of the purchase that started this subscription, fulfilled (verified and idempotent there). */
async function fulfilCheckoutOf(deps: BillingDeps, sub: SubscriptionState) {
  const { rows } = await deps.database.query<{ stripe_checkout_session_id: string | null }>(
    "select stripe_checkout_session_id from purchases where id::text = $1",
    [sub.metadata.purchaseId ?? ""],
  );
  const sessionId = rows[0]?.stripe_checkout_session_id;
  if (sessionId) await fulfilCheckoutSession(deps, await deps.stripe.retrieveCheckoutSession(sessionId));
}

/** Whether a grant was ever made under this source key (a renewal's period), spent or expired since or not. */
async function wasGranted(q: Query, sourceKey: string) {
  const { rows } = await q("select 1 from credit_grants where source_key = $1", [sourceKey]);
  return rows.length > 0;
}

/** `known`: the invoice's subscription, already read from Stripe by the caller (the read-back). */
async function onInvoicePaid(deps: BillingDeps, invoiceId: string, known?: SubscriptionState) {
  const invoice = await deps.stripe.retrieveInvoice(invoiceId);
  if (!invoice.subscriptionId) return onOneOffInvoice(deps, invoice);
  if (!invoice.paid) return;
  const sub = known?.id === invoice.subscriptionId ? known : await deps.stripe.retrieveSubscription(invoice.subscriptionId);
  if (!sub) return;
  // The first invoice of a Checkout subscription: the purchase's own session decides (verified there).
  if (invoice.billingReason === "subscription_create") return fulfilCheckoutOf(deps, sub);
  if (invoice.billingReason !== "subscription_cycle") return; // other subscription invoices grant nothing
  let current = await groupOfSubscription(deps, sub);
  if (!current) {
    // A renewal whose Checkout is not fulfilled yet (its events came before the Checkout's, or were
    // lost): the plan is adopted from its verified session first, so that the renewal has a plan to renew.
    await fulfilCheckoutOf(deps, sub);
    current = await groupOfSubscription(deps, sub);
  }
  const groupId = current ?? (await formerGroupOfSubscription(deps, sub));
  if (!groupId || invoice.customerId !== sub.customerId) {
    deps.logger.warn({ invoiceId, subscriptionId: sub.id }, "renewal invoice of a subscription that is not ours; ignored");
    return;
  }
  const sourceKey = `stripe-period:${sub.id}:${invoice.periodStart.toISOString()}`;
  const refund = await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, groupId);
    const plan = await findPlan(q, groupId, true);
    // Ended (its subscription.deleted came first), or replaced since by a plan the admin bought after it
    // ended: its renewals grant nothing; as in the usual order (paid, then deleted), the plan stays ended.
    if (plan?.status === "canceled" || plan?.stripe_subscription_id !== sub.id) {
      deps.logger.warn({ invoiceId, subscriptionId: sub.id }, "renewal paid for a plan that has ended; nothing granted");
      // Paid only after the subscription had ended (a declined renewal's open invoice, paid on its hosted page
      // once dunning ended the plan): it bought nothing, so it is refunded, as a raise paid too late is.
      const paidAfterEnd = !!invoice.paidAt && !!sub.canceledAt && invoice.paidAt.getTime() > sub.canceledAt.getTime();
      return paidAfterEnd && !(await wasGranted(q, sourceKey));
    }
    if (plan && plan.current_period_start.getTime() <= invoice.periodStart.getTime()) {
      await q(
        `update plans set current_period_start = $2, current_period_end = $3, status = 'active', quantity = case when quantity_synced then $4 else quantity end, updated_at = now()
          where id = $1`,
        [plan.id, invoice.periodStart, invoice.periodEnd, invoice.quantity ?? sub.quantity],
      );
    }
    const quantity = invoice.quantity ?? sub.quantity;
    const grant = await grantMonthlyPeriod(q, {
      groupId,
      periodStart: invoice.periodStart,
      periodEnd: invoice.periodEnd,
      packages: quantity,
      credits: quantity * deps.config.CREDITS_PER_PACKAGE,
      sourceKey,
      now: deps.clock(),
    });
    if (grant) return false;
    // Its period was over when it was paid (a past-due renewal paid after later periods came): nothing to
    // spend it on, so, unless it was granted in its time (a replay), it is refunded too.
    return !(await wasGranted(q, sourceKey));
  });
  if (refund) {
    const refunded = await deps.stripe.refundInvoice({ invoiceId, metadata: { reason: "renewal paid after its plan ended" }, idempotencyKey: `renewal-refund:${invoiceId}` });
    deps.logger.warn({ groupId, invoiceId, refunded: refunded.amount }, "renewal paid after its plan or its period ended refunded");
  }
}

/** An invoice outside a subscription: a plan raise's or an auto top-up's own invoice settles its purchase; a copy of it is refunded. */
async function onOneOffInvoice(deps: BillingDeps, invoice: InvoiceState) {
  const purchaseId = invoice.metadata.purchaseId;
  if (!purchaseId) return;
  const { rows } = await deps.database.query<{ id: string; raises_plan: boolean; provider: string; group_id: string; idempotency_key: string | null }>(
    "select id, raises_plan, provider, group_id, idempotency_key from purchases where id::text = $1",
    [purchaseId],
  );
  const p = rows[0];
  if (!p || p.provider !== "stripe") return;
  if (!p.raises_plan) {
    if (invoice.metadata.autoTopUpId && invoice.paid) await applyPaidTopUpInvoice(deps, p.id, invoice);
    return;
  }
  const status = await applyRaiseInvoice(deps, p.id, {
    invoiceId: invoice.id,
    paid: invoice.paid,
    declineReason: null,
    total: invoice.total,
    currency: invoice.currency,
    customerId: invoice.customerId,
  });
  if (status === "completed") await syncPlanQuantity(deps, p.group_id);
  if (status === "refund") await refundRaise(deps, p, invoice.id);
  if (status === "copy") await refundInvoiceCopy(deps, p, invoice.id);
}

/** Why a declined top-up's invoice paid after its group was deleted granted nothing. */
export const TOP_UP_REFUNDED = "The group was deleted before this payment arrived, so nothing was added; the payment was refunded.";

/**
 * An auto top-up's invoice paid. Only the top-up's own invoice, the one its key made (recorded before
 * anything was charged on it), is its payment (credits.md "Who owns what"); when it is not recorded yet
 * (the answer that named it was lost), it is learned first. Any other invoice naming the purchase (the
 * dashboard's "Duplicate invoice" copies its metadata) grants nothing, whatever the top-up's state, and
 * one that billed the group's customer the purchase's amount is refunded (`refundInvoiceCopy`), or the
 * customer is billed for nothing. The own invoice paid after its charge was declined (the customer paid
 * it on its hosted page, or Stripe's retry went through) is granted, once. Auto top-up stays off, with
 * the reason it was turned off, until an admin turns it on again. Paid after the group was deleted (a
 * declined top-up does not hold a delete back), it buys nothing anyone can use: it is refunded, under one
 * key for every replay, and marked so once refunded.
 */
export async function applyPaidTopUpInvoice(deps: BillingDeps, purchaseId: string, invoice: InvoiceState) {
  await learnOwnInvoice(deps, purchaseId);
  const outcome = await deps.database.transaction(async (q) => {
    const { rows } = await q<{ group_id: string }>("select group_id from purchases where id = $1", [purchaseId]);
    const profile = await lockGroupBilling(q, rows[0]!.group_id);
    const p = (await lockPurchase(q, purchaseId))!;
    if (p.stripe_invoice_id !== invoice.id) {
      // Its own invoice unknown (a top-up completed before invoices were recorded): nothing to tell a copy by.
      const copy = !!p.stripe_invoice_id && invoice.paid && isPurchaseInvoice(invoice, p, profile);
      deps.logger.error({ purchaseId, invoiceId: invoice.id, own: p.stripe_invoice_id, copy }, "invoice naming a top-up is not its own; nothing granted");
      return copy ? { kind: "copy" as const, p } : null;
    }
    // Only a declined one: a top-up still pending is the auto top-up loop's, which charges the same
    // invoice again by its key and completes the purchase and its top-up row together.
    if (p.status !== "failed") return null;
    if (!isPurchaseInvoice(invoice, p, profile)) {
      deps.logger.error({ purchaseId, invoiceId: invoice.id }, "top-up invoice does not match its purchase; nothing granted");
      return null;
    }
    if (await isGroupDeleted(q, p.group_id)) return p.failure_reason !== TOP_UP_REFUNDED ? { kind: "refund" as const, p } : null;
    await grantOneTimePurchase(q, p, deps.clock());
    await markPurchase(q, p.id, "completed");
    return null;
  });
  if (outcome?.kind === "copy") await refundInvoiceCopy(deps, outcome.p, invoice.id);
  if (outcome?.kind !== "refund") return;
  const refunded = await deps.stripe.refundInvoice({
    invoiceId: invoice.id,
    metadata: { reason: "group deleted before the top-up was paid", purchaseId },
    idempotencyKey: `top-up-refund:${purchaseId}`,
  });
  await deps.database.query("update purchases set failure_reason = $2 where id = $1 and status = 'failed'", [purchaseId, TOP_UP_REFUNDED]);
  deps.logger.warn({ purchaseId, invoiceId: invoice.id, refunded: refunded.amount }, "top-up paid after its group was deleted refunded");
}

/** A subscription as Stripe has it now; null once Stripe no longer has it. */
const currentSubscription = (deps: BillingDeps, subscriptionId: string) =>
  deps.stripe.retrieveSubscription(subscriptionId).catch((err: unknown) => {
    if (isMissingStripeObject(err)) return null;
    throw err;
  });

/** `known`: the subscription as the caller just read it from Stripe (null: Stripe no longer has it). */
async function onSubscriptionChanged(deps: BillingDeps, subscriptionId: string, known?: SubscriptionState | null) {
  // A subscription Stripe no longer has is over: the plan is cancelled.
  const sub = known !== undefined ? known : await currentSubscription(deps, subscriptionId);
  const { rows } = await deps.database.query<{ group_id: string }>("select group_id from plans where stripe_subscription_id = $1", [subscriptionId]);
  const owner = rows[0]?.group_id;
  if (!owner) return; // not (yet) ours: a plan is created only from our verified Checkout Session
  if (sub && (await groupOfSubscription(deps, sub)) !== owner) {
    deps.logger.warn({ subscriptionId }, "subscription's customer is not its group's; ignored");
    return;
  }
  await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, owner);
    const plan = await findPlan(q, owner, true);
    if (!plan || plan.stripe_subscription_id !== subscriptionId) return;
    const status = sub ? planStatus(sub.status) : "canceled";
    // The quantity is ours between periods (raises apply here first); Stripe's renewal invoice sets it per period.
    // A quantity lowered in the portal is only remembered here (the page shows it); the renewal invoice applies it.
    // While a raise is not yet at Stripe (quantity_synced false) the plan's resume, and the end of a scheduled
    // lowering, are ours too: an event from before it must not make the plan cancel or lower again
    // (syncPlanQuantity sends both, releasing the schedule).
    // The period is not moved here: only its paid renewal invoice moves it (onInvoicePaid), with its grant. A
    // period moved without its grant would hide a renewal whose invoice.paid was lost from the settling loop,
    // which reads back plans whose period has ended (reconcileLateRenewals), and so would an unpaid one.
    await q(
      `update plans set status = $2, cancel_at_period_end = case when quantity_synced then $3 else cancel_at_period_end end,
              next_period_quantity = case when quantity_synced then $4 else next_period_quantity end, updated_at = now()
        where id = $1`,
      [plan.id, status, sub?.cancelAtPeriodEnd ?? false, sub?.scheduledQuantity ?? null],
    );
    if (status === "canceled") await endMonthlyCredits(q, { groupId: owner, now: deps.clock() });
  });
}

async function onAsyncPaymentFailed(deps: BillingDeps, session: CheckoutSessionState) {
  const purchase = await purchaseOfSession(deps, session.id);
  if (!purchase) return;
  await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, purchase.group_id);
    const p = await lockPurchase(q, purchase.id);
    if (p?.status === "pending") await markPurchase(q, p.id, "failed", "The payment did not go through.");
  });
}

/**
 * Read a subscription back from Stripe as if its events had arrived (a renewal whose webhook was
 * lost): its newest invoice, if it is a paid renewal, is granted once (which moves the plan's
 * period), and the plan follows the subscription's status. Every check of the webhook path applies.
 */
export async function reconcileSubscription(deps: BillingDeps, subscriptionId: string) {
  const sub = await currentSubscription(deps, subscriptionId);
  if (sub?.latestInvoiceId) await onInvoicePaid(deps, sub.latestInvoiceId, sub);
  await onSubscriptionChanged(deps, subscriptionId, sub);
}

/**
 * One dispatcher for every event type; each event id takes effect at most once. Returns false
 * when the event was already processed. An event without an object id is acknowledged and ignored.
 */
export async function handleStripeEvent(deps: BillingDeps, event: StripeEventLike): Promise<boolean> {
  const { rows } = await deps.database.query<{ processed_at: Date | null }>("select processed_at from webhook_events where id = $1", [event.id]);
  if (rows[0]?.processed_at) return false;
  const object: unknown = (event as { data?: { object?: unknown } }).data?.object;
  const objectId = object && typeof object === "object" && typeof (object as { id?: unknown }).id === "string" ? (object as { id: string }).id : null;

  if (objectId) {
    try {
      await dispatch(deps, event.type, objectId);
    } catch (err) {
      // An event about an object Stripe does not know (another account's, or deleted test data) can never
      // take effect: acknowledge it instead of failing, which would make Stripe retry it for days.
      if (!isMissingStripeObject(err)) throw err;
    }
  } else {
    deps.logger.warn({ eventId: event.id, type: event.type }, "signed event without data.object; acknowledged, nothing done");
  }

  await deps.database.query(
    `insert into webhook_events (id, type, payload, processed_at) values ($1, $2, $3, now())
     on conflict (id) do update set processed_at = coalesce(webhook_events.processed_at, now())`,
    [event.id, event.type, JSON.stringify(event)],
  );
  return true;
}

async function dispatch(deps: BillingDeps, type: string, objectId: string) {
  switch (type) {
    case "checkout.session.completed":
    case "checkout.session.async_payment_succeeded":
    case "checkout.session.expired":
      await fulfilCheckoutSession(deps, await deps.stripe.retrieveCheckoutSession(objectId));
      break;
    case "checkout.session.async_payment_failed":
      await onAsyncPaymentFailed(deps, await deps.stripe.retrieveCheckoutSession(objectId));
      break;
    case "invoice.paid":
    case "invoice.payment_succeeded":
      await onInvoicePaid(deps, objectId);
      break;
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
      await onSubscriptionChanged(deps, objectId);
      break;
    // A quantity lowered in the portal lives on a schedule; changing it again changes only the schedule.
    case "subscription_schedule.created":
    case "subscription_schedule.updated":
    case "subscription_schedule.released":
    case "subscription_schedule.canceled": {
      const subscriptionId = await deps.stripe.subscriptionOfSchedule(objectId);
      if (subscriptionId) await onSubscriptionChanged(deps, subscriptionId);
      break;
    }
    default:
      break; // other events are acknowledged and ignored
  }
}
