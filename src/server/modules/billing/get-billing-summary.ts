import type { BillingSummary, PlanSummary } from "../../../contracts/billing.js";
import { findCreditBalances } from "../ledger/index.js";
import { pricingOf, type BillingDeps, type GroupRef } from "./billing-deps.js";
import { findPlan, findProfile, isLivePlan, type PlanRow } from "./billing-repo.js";

/** The group's billing state and balances, from our database only (reads never write). */
export async function getBillingSummary(deps: BillingDeps, group: GroupRef): Promise<BillingSummary> {
  const now = deps.clock();
  const pricing = pricingOf(deps.config);
  const profile = await findProfile(deps.database.query, group.id);
  const { monthly, oneTime } = await findCreditBalances(deps.database.query, { websiteId: null, groupId: group.id, now });
  const plan = await findPlan(deps.database.query, group.id);
  return {
    enabled: !!profile,
    customerType: profile?.customer_type ?? null,
    partnerPortalUrl: profile?.customer_type === "partner" ? `${deps.partnerPortalUrl}/${profile.partner_account_id}` : null,
    pricing: { creditsPerPackage: pricing.creditsPerPackage, minQuantity: 1, maxQuantity: 50, oneTime: pricing.oneTime, monthly: pricing.monthly },
    credits: {
      monthly: monthly
        ? {
            total: monthly.granted,
            used: monthly.granted - monthly.remaining,
            remaining: monthly.remaining,
            packages: monthly.packages,
            periodStart: monthly.periodStart!.toISOString(),
            periodEnd: monthly.periodEnd!.toISOString(),
          }
        : null,
      oneTime: oneTime ? { total: oneTime.granted, used: oneTime.granted - oneTime.remaining, remaining: oneTime.remaining } : null,
    },
    plan: isLivePlan(plan, now) ? planSummary(plan, pricing.monthly) : null,
  };
}

/** The plan as the billing page shows it. */
export function planSummary(plan: PlanRow, price: { amount: number; currency: string }): PlanSummary {
  const end = plan.current_period_end.toISOString();
  return {
    packages: plan.quantity,
    price: { amount: plan.quantity * price.amount, currency: price.currency },
    status: plan.status === "past_due" ? "past_due" : plan.cancel_at_period_end ? "canceling" : "active",
    currentPeriodEnd: end,
    cancelAt: plan.cancel_at_period_end ? end : null,
    nextPeriodPackages: plan.cancel_at_period_end ? null : plan.next_period_quantity,
  };
}
