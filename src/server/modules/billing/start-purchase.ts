import type { PurchaseBody, PurchaseResponse } from "../../../contracts/billing.js";
import { AppError, notFound } from "../../errors.js";
import { pricingOf, type BillingDeps, type GroupRef } from "./billing-deps.js";
import { findPlan, findPurchaseByKey, insertPurchase, isGroupDeleted, lockGroupBilling, lockPurchase, markPurchase, type PurchaseRow } from "./billing-repo.js";
import { CUSTOMER_DELETED, customerDeleted, isCustomerDeleted } from "./customer-deleted.js";
import { chargePartner } from "./charge-partner.js";
import { CHECKOUT_EXPIRED, startCheckout } from "./start-checkout.js";
import { pastDueConflict, priceChange, raiseRefusal, renewingConflict } from "./preview-purchase.js";
import { raisePlan } from "./raise-plan.js";

export type PurchaseOutcome = { httpStatus: 200 | 202; body: PurchaseResponse };

/**
 * Buy packages (credits.md "Purchases"). The intent is recorded first: a purchase row, decided
 * under the group's billing lock (so concurrent purchases of one group see each other), then
 * committed; only then is Stripe or the partner called, with an idempotency key derived from the
 * purchase, and the answer applied under the lock again. The same `Idempotency-Key` resumes the
 * same purchase and its outside calls; it never makes a second, different request.
 */
export async function startPurchase(deps: BillingDeps, group: GroupRef, body: PurchaseBody, idempotencyKey: string | undefined): Promise<PurchaseOutcome> {
  const key = storedKeyOf(idempotencyKey ?? crypto.randomUUID());
  const pricing = pricingOf(deps.config);
  const intent = await deps.database.transaction(async (q) => {
    const profile = await lockGroupBilling(q, group.id);
    if (!profile) throw new AppError("billing_not_enabled", "Billing is not enabled for this group.");
    // The request was let in while the group was there; a delete may have committed since.
    if (await isGroupDeleted(q, group.id)) throw notFound("Group");
    const existing = await findPurchaseByKey(q, group.id, key);
    if (existing) {
      if (existing.type !== body.type || existing.quantity !== body.quantity) {
        throw new AppError("conflict", "This idempotency key was already used for a different purchase.");
      }
      return { profile, purchase: existing, plan: null, created: false };
    }
    const plan = await findPlan(q, group.id);
    const { quote, raisesPlan } = priceChange({ body, plan, pricing, now: deps.clock() });
    if (body.expectedDueNow !== undefined && body.expectedDueNow !== quote.total.amount) {
      throw new AppError("conflict", `The price changed: ${quote.total.amount} is due now, not ${body.expectedDueNow}. Review the purchase and try again.`);
    }
    const refusal = raisesPlan && plan ? raiseRefusal(plan, deps.clock()) : null;
    if (refusal === "past_due") return { profile, purchase: null, plan, created: false }; // its 409 asks Stripe for the invoice, after this transaction
    if (refusal === "renewing") throw renewingConflict();
    if (raisesPlan && plan && plan.quantity + body.quantity > 1000) throw new AppError("invalid_request", "A plan holds at most 1,000 packages.");
    const purchase = await insertPurchase(q, {
      group_id: group.id,
      type: body.type,
      quantity: body.quantity,
      credits: quote.credits,
      amount: quote.total.amount,
      currency: quote.total.currency,
      provider: profile.customer_type === "partner" ? "partner" : "stripe",
      idempotency_key: key,
      raises_plan: raisesPlan,
    });
    return { profile, purchase, plan, created: true };
  });
  if (!intent.purchase) throw await pastDueConflict(deps, intent.profile.partner_account_id, intent.plan?.stripe_subscription_id ?? null);
  try {
    return await resumePurchase(deps, group, intent.profile, intent.purchase);
  } catch (err) {
    if (isCustomerDeleted(err)) {
      await closeForDeletedCustomer(deps, intent.purchase, intent.created);
      throw customerDeleted();
    }
    if (!intent.purchase.raises_plan || !isRefusedBeforeSent(err)) throw err;
    // A raise Stripe refused before its invoice was there: 503 says nothing happened, so nothing may
    // happen later either (the settling loop would charge it, and the admin's next click be a second
    // raise). One whose invoice is at Stripe already goes on as a pending payment.
    if (await closeIntent(deps, intent.purchase, intent.created, RAISE_NOT_SENT, { keepIfSent: true })) throw err;
    return { httpStatus: 202, body: { status: "pending", purchaseId: intent.purchase.id } };
  }
}

/** Why a raise answered 503 is closed (stored on a purchase recorded by an earlier request). */
const RAISE_NOT_SENT = "Stripe could not be reached, so nothing was charged. Try again in a moment.";

/** Refused before anything was sent (credits.md "Unknown outcomes": 503, nothing happened). */
const isRefusedBeforeSent = (err: unknown) =>
  (err as { code?: unknown }).code === "billing_unavailable" && !(err as { outcomeUnknown?: boolean }).outcomeUnknown;

/**
 * Stripe refused the purchase because the group's customer was deleted there: nothing was charged.
 * The intent this request recorded is taken back, so the refusal leaves nothing behind; a purchase
 * recorded earlier (a retry of one whose answer was lost) is closed as failed, so the settling loop
 * stops retrying it and its retries get the same answer.
 */
export async function closeForDeletedCustomer(deps: BillingDeps, p: PurchaseRow, createdNow: boolean) {
  await closeIntent(deps, p, createdNow, CUSTOMER_DELETED, { keepIfSent: false });
}

/**
 * Close a pending purchase that Stripe refused, under the group's lock: taken back if this request
 * recorded it and nothing of it reached Stripe, else failed with `reason`. With `keepIfSent`, one
 * that has a Checkout Session, invoice or subscription at Stripe is left pending. Returns whether it
 * was closed (false: left pending, or settled meanwhile).
 */
async function closeIntent(deps: BillingDeps, p: PurchaseRow, createdNow: boolean, reason: string, { keepIfSent }: { keepIfSent: boolean }) {
  return deps.database.transaction(async (q) => {
    await lockGroupBilling(q, p.group_id);
    const locked = await lockPurchase(q, p.id);
    if (locked?.status !== "pending") return false;
    const untouched = !locked.stripe_checkout_session_id && !locked.stripe_invoice_id && !locked.stripe_subscription_id;
    if (keepIfSent && !untouched) return false;
    if (createdNow && untouched) await q("delete from purchases where id = $1", [p.id]);
    else await markPurchase(q, p.id, "failed", reason);
    return true;
  });
}

/**
 * The key a client's purchase is stored under. An auto top-up's purchase is told apart by its key's
 * prefix (`auto-top-up:`, controls/auto-top-up.ts): the settling loop leaves it to its own loop and
 * looks its charge up under that key. A client's key shaped like one is stored under `client:`; a
 * late answer to its purchase was otherwise never settled by the loop, billed and not granted. Every
 * other key is stored as it is, so a retry of a purchase made before this rule still finds it. (A
 * client sending both `auto-top-up:x` and `client:auto-top-up:x` gets the first purchase answered
 * for the second: nothing billed that is not granted.)
 */
const storedKeyOf = (key: string) => (key.startsWith("auto-top-up:") ? `client:${key}` : key);

/** Take a recorded purchase as far as it goes now (first attempt, or a retry with the same key). */
async function resumePurchase(deps: BillingDeps, group: GroupRef, profile: { stripe_customer_id: string | null; partner_account_id: string | null }, p: PurchaseRow): Promise<PurchaseOutcome> {
  if (p.status === "completed") return { httpStatus: 200, body: { status: "completed", credits: Number(p.credits), purchaseId: p.id } };
  if (p.status === "failed" && p.failure_reason === CUSTOMER_DELETED) throw customerDeleted();
  if (p.status === "failed") throw new AppError("payment_failed", p.failure_reason ?? "The payment did not go through.");
  if (p.status === "cancelled") throw new AppError("conflict", CHECKOUT_EXPIRED);
  if (p.provider === "partner") return chargePartner(deps, p, profile.partner_account_id!);
  if (p.raises_plan) return raisePlan(deps, p, profile.stripe_customer_id!);
  return startCheckout(deps, group, p, profile.stripe_customer_id!);
}

export { resumePurchase };
