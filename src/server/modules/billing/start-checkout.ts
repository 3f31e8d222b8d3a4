import { AppError } from "../../errors.js";
import { pricingOf, type BillingDeps, type GroupRef } from "./billing-deps.js";
import { findPurchase, formatCount, lockGroupBilling, setPurchaseRefs, type PurchaseRow } from "./billing-repo.js";
import type { PurchaseOutcome } from "./start-purchase.js";

export const CHECKOUT_EXPIRED = "This purchase's checkout expired; start a new purchase.";

/**
 * Send the customer to Stripe Checkout for a recorded purchase (one-time packages, or a group's
 * first plan). One subscription per group: before a monthly Checkout is created, every other open
 * monthly Checkout of the group is expired at Stripe and its purchase closed, so two tabs can
 * never both pay for a plan.
 */
export async function startCheckout(deps: BillingDeps, group: GroupRef, p: PurchaseRow, customerId: string): Promise<PurchaseOutcome> {
  const pricing = pricingOf(deps.config);
  if (p.type === "monthly") await expireOtherMonthlyCheckouts(deps, group.id, p.id);
  const back = `${deps.publicUrl}/groups/${group.id}/billing`;
  const name = `${formatCount(pricing.creditsPerPackage)} group credits (${p.type === "one_time" ? "one-time" : "monthly"})`;
  const session = await deps.stripe.createCheckoutSession({
    customerId,
    mode: p.type === "one_time" ? "payment" : "subscription",
    productName: name,
    unitAmount: Number(p.amount) / p.quantity,
    currency: p.currency,
    quantity: p.quantity,
    successUrl: `${back}?checkout=success&purchase=${p.id}`,
    cancelUrl: `${back}?checkout=cancelled&purchase=${p.id}`,
    metadata: { groupId: group.id, purchaseId: p.id, type: p.type, quantity: String(p.quantity) },
    idempotencyKey: `checkout:${p.id}`,
  });
  await setPurchaseRefs(deps.database.query, p.id, { stripeCheckoutSessionId: session.id });
  // The purchase's session is the one recorded first; only its payment completes the purchase, so
  // its page is the one the customer is sent to. Another one comes from a retry racing this one (at
  // Stripe the key chain answers both the same session) or from a key Stripe forgot after a day: that
  // one, whose address nobody else got, is expired.
  const recorded = (await findPurchase(deps.database.query, p.id))?.stripe_checkout_session_id;
  if (recorded && recorded !== session.id) {
    await deps.stripe.expireCheckoutSession({ sessionId: session.id, idempotencyKey: `expire:${session.id}` });
    const own = await deps.stripe.retrieveCheckoutSession(recorded);
    if (own.status === "expired") throw new AppError("conflict", CHECKOUT_EXPIRED);
    if (!own.url) throw new AppError("billing_unavailable", "Stripe did not return a checkout page.");
    return { httpStatus: 200, body: { status: "redirect", url: own.url, purchaseId: p.id } };
  }
  if (!session.url) throw new AppError("billing_unavailable", "Stripe did not return a checkout page.");
  return { httpStatus: 200, body: { status: "redirect", url: session.url, purchaseId: p.id } };
}

async function expireOtherMonthlyCheckouts(deps: BillingDeps, groupId: string, keepId: string) {
  const { rows } = await deps.database.query<{ id: string; stripe_checkout_session_id: string }>(
    `select id, stripe_checkout_session_id from purchases
      where group_id = $1 and type = 'monthly' and status = 'pending' and not raises_plan and stripe_checkout_session_id is not null and id <> $2`,
    [groupId, keepId],
  );
  for (const older of rows) {
    const session = await deps.stripe.expireCheckoutSession({ sessionId: older.stripe_checkout_session_id, idempotencyKey: `expire:${older.stripe_checkout_session_id}` });
    // A session paid meanwhile is completed by its webhook; only an expired one closes its purchase here.
    if (session.status !== "expired") continue;
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, groupId);
      await q("update purchases set status = 'cancelled', failure_reason = $2 where id = $1 and status = 'pending'", [older.id, "A newer monthly checkout replaced this one."]);
    });
  }
}

