import { AppError } from "../../errors.js";
import type { BillingDeps } from "./billing-deps.js";
import { findPlan, isLivePlan, lockGroupBilling, lockPurchase, markPurchase, type PurchaseRow } from "./billing-repo.js";
import { grantPurchase } from "./charge-partner.js";
import { isMissingStripeObject } from "./customer-deleted.js";
import { isPurchaseInvoice, learnOwnInvoice, ownInvoiceInput, recordOwnInvoice } from "./own-invoice.js";
import type { PurchaseOutcome } from "./start-purchase.js";

const codeOf = (err: unknown) => (err as { code?: unknown }).code;
const invoiceOf = (err: unknown) => (err as { invoiceId?: unknown }).invoiceId;

/**
 * Raise a Stripe plan (credits.md "Settled details"): the added packages are charged at full price now
 * on their own invoice, granted for the current period once that invoice is paid, and the
 * subscription's quantity is raised with `proration_behavior: none` for every later period.
 * No database lock is held during a Stripe call; the invoice's steps use keys derived from the
 * purchase, so a retry (same Idempotency-Key, or the settling loop) continues the same invoice. The
 * invoice is recorded on the purchase before anything is charged on it (own-invoice.ts recordOwnInvoice).
 */
export async function raisePlan(deps: BillingDeps, p: PurchaseRow, customerId: string): Promise<PurchaseOutcome> {
  let charged;
  try {
    const draft = await recordOwnInvoice(deps, p, customerId);
    // Settled meanwhile (its own invoice's event, or another retry, got there first): nothing more to charge.
    if (draft.purchase.status !== "pending") return settledOutcome(draft.purchase);
    const invoice = await deps.stripe.chargeInvoice({ ...ownInvoiceInput(deps, p, customerId), invoiceId: draft.id, unitAmount: Number(p.amount) / p.quantity, quantity: p.quantity });
    charged = { invoiceId: invoice.id, paid: invoice.paid, declineReason: null, total: invoice.total, currency: invoice.currency, customerId: invoice.customerId };
  } catch (err) {
    if (codeOf(err) === "payment_failed" && typeof invoiceOf(err) === "string") {
      charged = { invoiceId: invoiceOf(err) as string, paid: false, declineReason: (err as Error).message, total: Number(p.amount), currency: p.currency, customerId };
    } else if (codeOf(err) === "billing_unavailable" && (err as { outcomeUnknown?: boolean }).outcomeUnknown) {
      deps.logger.warn({ purchaseId: p.id, err: (err as Error).message }, "plan raise outcome unknown; the purchase stays pending");
      return { httpStatus: 202, body: { status: "pending", purchaseId: p.id } };
    } else {
      throw err;
    }
  }
  const status = await applyRaiseInvoice(deps, p.id, charged);
  if (status === "refund") {
    await refundRaise(deps, p, charged.invoiceId);
    throw new AppError("conflict", RAISE_REFUNDED);
  }
  if (status === "failed" && charged.declineReason) await voidDeclinedRaise(deps, p, charged.invoiceId);
  if (status === "completed") {
    // Paid and granted: the answer is "completed" even if Stripe's quantity must wait for the settling loop.
    await syncPlanQuantity(deps, p.group_id).catch((err: unknown) => deps.logger.warn({ groupId: p.group_id, err: (err as Error).message }, "plan quantity not sent to Stripe yet; the settling loop retries"));
    return { httpStatus: 200, body: { status: "completed", credits: Number(p.credits), purchaseId: p.id } };
  }
  if (status === "failed") throw new AppError("payment_failed", charged.declineReason ?? "The payment did not go through.");
  return { httpStatus: 202, body: { status: "pending", purchaseId: p.id } };
}

/** The answer for a raise already settled, as a retry of it gets it (start-purchase.ts resumePurchase). */
function settledOutcome(p: PurchaseRow): PurchaseOutcome {
  if (p.status === "completed") return { httpStatus: 200, body: { status: "completed", credits: Number(p.credits), purchaseId: p.id } };
  if (p.failure_reason === RAISE_REFUNDED) throw new AppError("conflict", RAISE_REFUNDED);
  throw new AppError("payment_failed", p.failure_reason ?? "The payment did not go through.");
}

/** Why a raise paid when its plan could no longer be raised is not granted (its payment is refunded). */
export const RAISE_REFUNDED = "The plan or its period ended before this payment arrived, so nothing was added; the payment was refunded.";

/**
 * A declined raise is over (the customer was told 402): its invoice is voided, so that it cannot be
 * paid later, when the plan it raised may be gone. If it was paid meanwhile, its `invoice.paid`
 * applies it. A void that fails is only logged: the invoice is charged automatically only by us.
 */
async function voidDeclinedRaise(deps: BillingDeps, p: PurchaseRow, invoiceId: string) {
  await deps.stripe
    .voidInvoice({ invoiceId, idempotencyKey: `raise-void:${p.id}` })
    .catch((err: unknown) => deps.logger.warn({ purchaseId: p.id, invoiceId, err: (err as Error).message }, "declined raise's invoice not voided"));
}

/** Give back a raise's payment that granted nothing (RAISE_REFUNDED); the key makes every retry the same refund. */
export async function refundRaise(deps: BillingDeps, p: Pick<PurchaseRow, "id" | "group_id">, invoiceId: string) {
  const refund = await deps.stripe.refundInvoice({ invoiceId, metadata: { reason: "plan ended before the raise was paid", purchaseId: p.id }, idempotencyKey: `raise-refund:${p.id}` });
  deps.logger.warn({ groupId: p.group_id, purchaseId: p.id, invoiceId, refunded: refund.amount }, "raise paid after its plan ended refunded");
}

/**
 * Apply a raise's invoice to its purchase under the group's lock, exactly once. Only the raise's own
 * invoice, the one its key made (recorded before anything was charged on it), is its payment
 * (credits.md "Who owns what"): any other naming the purchase in its metadata (the dashboard's
 * "Duplicate invoice" copies it) grants nothing, or the customer, paying both, is billed twice for
 * one grant; one that billed the group's customer the raise's amount is answered "copy", and the caller
 * gives it back (`refundInvoiceCopy`). A purchase whose own invoice is not recorded yet (the answer that
 * named it was lost) learns it first, as its retry would. The own invoice must match the purchase (its
 * customer, amount and currency). A paid raise is granted for the plan's current period only while the
 * plan is live and in that period; otherwise (the plan was cancelled, or its period ended, before the
 * payment arrived) nothing is granted, no plan is made, and the answer is "refund": the caller gives
 * the payment back (`refundRaise`), and so does every replay.
 */
export async function applyRaiseInvoice(
  deps: BillingDeps,
  purchaseId: string,
  invoice: { invoiceId: string; paid: boolean; declineReason: string | null; total: number; currency: string; customerId: string | null },
) {
  await learnOwnInvoice(deps, purchaseId);
  // The plan's subscription as Stripe has it now (no lock held): one Stripe has ended, whose deletion has
  // not reached us yet, can no longer be raised. Granted, the raise's credits would end with the plan as
  // soon as the late deletion arrives, and its payment be kept for nothing; in the usual order (the
  // deletion first) it is refunded, so it is here. Unknown (Stripe unreachable): the plan is taken as ours says.
  const endedSubscription = invoice.paid ? await endedSubscriptionOf(deps, purchaseId) : null;
  return deps.database.transaction(async (q) => {
    const { rows } = await q<{ group_id: string }>("select group_id from purchases where id = $1", [purchaseId]);
    if (!rows[0]) return "failed" as const;
    const profile = await lockGroupBilling(q, rows[0].group_id);
    const p = (await lockPurchase(q, purchaseId))!;
    if (!p.stripe_invoice_id) return "pending" as const; // its own invoice still unknown: the settling loop continues the raise
    if (p.stripe_invoice_id !== invoice.invoiceId) {
      const copy = invoice.paid && isPurchaseInvoice(invoice, p, profile);
      deps.logger.error({ purchaseId, invoiceId: invoice.invoiceId, own: p.stripe_invoice_id, copy }, "invoice naming a raise is not its own; nothing granted");
      return copy ? ("copy" as const) : ("not_own" as const);
    }
    if (p.status === "completed") return "completed" as const;
    if (p.failure_reason === RAISE_REFUNDED) return "refund" as const;
    if (!isPurchaseInvoice(invoice, p, profile)) {
      deps.logger.error({ purchaseId, invoiceId: invoice.invoiceId }, "raise invoice does not match its purchase; nothing granted");
      await markPurchase(q, p.id, "failed", "The invoice did not match the purchase.");
      return "failed" as const;
    }
    if (!invoice.paid) {
      if (invoice.declineReason) {
        await markPurchase(q, p.id, "failed", invoice.declineReason);
        return "failed" as const;
      }
      return "pending" as const;
    }
    const plan = await findPlan(q, p.group_id, true);
    const now = deps.clock();
    const ended = !!endedSubscription && plan?.stripe_subscription_id === endedSubscription;
    if (!isLivePlan(plan, now) || ended || plan.provider !== "stripe" || plan.current_period_end.getTime() <= now.getTime()) {
      deps.logger.warn({ purchaseId, invoiceId: invoice.invoiceId }, "raise paid when its plan could no longer be raised; nothing granted, refunding");
      await markPurchase(q, p.id, "failed", RAISE_REFUNDED);
      return "refund" as const;
    }
    await grantPurchase(deps, q, p, "stripe");
    await markPurchase(q, p.id, "completed");
    return "completed" as const;
  });
}

/** The id of the subscription of the purchase's group's plan if Stripe has ended it (or no longer has it); null if live or unknown. */
async function endedSubscriptionOf(deps: BillingDeps, purchaseId: string) {
  const { rows } = await deps.database.query<{ s: string | null }>(
    "select p.stripe_subscription_id as s from plans p join purchases pu on pu.group_id = p.group_id where pu.id = $1 and pu.status <> 'completed'",
    [purchaseId],
  );
  const subscriptionId = rows[0]?.s;
  if (!subscriptionId) return null;
  try {
    const sub = await deps.stripe.retrieveSubscription(subscriptionId);
    return !sub || sub.status === "canceled" ? subscriptionId : null;
  } catch (err) {
    return isMissingStripeObject(err) ? subscriptionId : null;
  }
}

/**
 * Bring Stripe's subscription quantity, and whether it cancels at period end, to the plan's (ours
 * is the truth between periods: raises are applied here first, and a raise resumes a cancelling
 * plan, so Stripe bills every later period for the packages granted). Converges under concurrency:
 * after each update the plan is read again and, if another raise changed it meanwhile, the plan is
 * sent again (even when that raise's own sync already marked it synced: our update may have reached
 * Stripe after it); the last update to reach Stripe is always followed by such a check
 * (tests/integration/plan-quantity-sync.test.ts). No lock is held during the call.
 */
export async function syncPlanQuantity(deps: BillingDeps, groupId: string) {
  // After an update that was not the plan's state any more, the plan is sent again even if another
  // sync marked it synced meanwhile: ours may have reached Stripe after that sync's (a late answer).
  let overtaken = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    const plan = await findPlan(deps.database.query, groupId);
    // An ended plan has nothing to send: Stripe refuses to update an ended subscription, and a raise's
    // replayed invoice.paid would fail (500) for as long as Stripe retries it.
    if (!plan || !plan.stripe_subscription_id || plan.status === "canceled" || (plan.quantity_synced && !overtaken)) return;
    const sent = plan.quantity;
    await deps.stripe.updateSubscriptionQuantity({
      subscriptionId: plan.stripe_subscription_id,
      quantity: sent,
      prorationBehavior: "none",
      cancelAtPeriodEnd: plan.cancel_at_period_end,
      idempotencyKey: `plan-quantity:${plan.id}:${sent}:${crypto.randomUUID()}`,
    });
    const done = await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, groupId);
      const { rows } = await q<{ id: string }>(
        "update plans set quantity_synced = true where group_id = $1 and quantity = $2 and cancel_at_period_end = $3 returning id",
        [groupId, sent, plan.cancel_at_period_end],
      );
      return rows.length > 0;
    });
    if (done) return;
    overtaken = true;
  }
}
