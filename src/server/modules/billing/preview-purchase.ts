import type { PurchaseBody, PurchasePreview } from "../../../contracts/billing.js";
import { quotePurchase, type PackagePricing } from "../../../domain/pricing.js";
import { pricingOf, type BillingDeps, type GroupRef } from "./billing-deps.js";
import { findPlan, isLivePlan, requireProfile, type PlanRow } from "./billing-repo.js";

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

/** The preview endpoint: reads only. */
export async function previewPurchase(deps: BillingDeps, group: GroupRef, body: PurchaseBody): Promise<PurchasePreview> {
  await requireProfile(deps.database.query, group.id);
  const plan = await findPlan(deps.database.query, group.id);
  return priceChange({ body, plan, pricing: pricingOf(deps.config), now: deps.clock() }).preview;
}
