import type { PurchaseBody, PurchasePreview } from "../../../contracts/billing.js";
import { quotePurchase, type PackagePricing } from "../../../domain/pricing.js";
import { pricingOf, type BillingDeps, type GroupRef } from "./billing-deps.js";
import { AppError } from "../../errors.js";
import { findPlan, isLivePlan, isRenewing, requireProfile, type PlanRow } from "./billing-repo.js";

/**
 * What a purchase charges now and, for monthly, the plan it leads to (credits.md "Settled
 * details"): added packages at full price, no proration. The purchase itself uses this same
 * computation, so the preview's `dueNow` is exactly what `expectedDueNow` is checked against.
 */
export function priceChange({ body, plan, pricing, now }: { body: PurchaseBody; plan: PlanRow | null; pricing: PackagePricing; now: Date }) {
  const quote = quotePurchase({ type: body.type, quantity: body.quantity, pricing });
  if (body.type === "one_time") return { quote, raisesPlan: false, preview: { credits: quote.credits, dueNow: quote.total, recurring: null, plan: null } };
  const raisesPlan = isLivePlan(plan, now);
  const from = raisesPlan ? plan.quantity : 0;
  const to = from + body.quantity;
  const preview: PurchasePreview = {
    credits: quote.credits,
    dueNow: quote.total,
    recurring: { amount: to * pricing.monthly.amount, currency: pricing.monthly.currency },
    plan: { fromPackages: from, toPackages: to },
  };
  return { quote, raisesPlan, preview };
}

/**
 * Why a monthly purchase may not raise this live plan now, or null: a past-due plan is paid first;
 * while a renewal is under way there is no current period to grant the added packages for.
 */
export const raiseRefusal = (plan: PlanRow, now: Date): "past_due" | "renewing" | null =>
  plan.status === "past_due" ? "past_due" : isRenewing(plan, now) ? "renewing" : null;

export const renewingConflict = () => new AppError("conflict", "The plan is being renewed right now. Try again in a minute.");

/**
 * A past-due plan is not raised (credits.md "Settled details"): 409 with the unpaid invoice's link in
 * `details.hostedInvoiceUrl` (Stripe: the subscription's newest invoice, unpaid; partner: the portal).
 * Asked after the intent's transaction; if Stripe cannot say, the link is null and the message points at Manage plan.
 */
export async function pastDueConflict(deps: BillingDeps, partnerAccountId: string | null, subscriptionId: string | null) {
  let link: string | null = partnerAccountId ? `${deps.partnerPortalUrl}/${partnerAccountId}` : null;
  if (!partnerAccountId && subscriptionId) {
    link = await (async () => {
      const sub = await deps.stripe.retrieveSubscription(subscriptionId);
      if (!sub?.latestInvoiceId) return null;
      const invoice = await deps.stripe.retrieveInvoice(sub.latestInvoiceId);
      return invoice.paid ? null : invoice.hostedInvoiceUrl;
    })().catch((err: unknown) => {
      deps.logger.warn({ subscriptionId, err: (err as Error).message }, "unpaid invoice of a past-due plan not found");
      return null;
    });
  }
  const where = link ? ` at ${link}` : " under Manage plan";
  return new AppError("conflict", `The plan has an unpaid invoice. Pay it${where} before adding packages.`, { details: { hostedInvoiceUrl: link } });
}

/**
 * The preview endpoint: reads only. A raise the purchase would refuse (a past-due plan, a renewal
 * under way) is refused here with the same 409, so the dialog says so before anything is confirmed.
 */
export async function previewPurchase(deps: BillingDeps, group: GroupRef, body: PurchaseBody): Promise<PurchasePreview> {
  const profile = await requireProfile(deps.database.query, group.id);
  const plan = await findPlan(deps.database.query, group.id);
  const now = deps.clock();
  const { raisesPlan, preview } = priceChange({ body, plan, pricing: pricingOf(deps.config), now });
  const refusal = raisesPlan && plan ? raiseRefusal(plan, now) : null;
  if (refusal === "past_due") throw await pastDueConflict(deps, profile.partner_account_id, plan?.stripe_subscription_id ?? null);
  if (refusal === "renewing") throw renewingConflict();
  return preview;
}
