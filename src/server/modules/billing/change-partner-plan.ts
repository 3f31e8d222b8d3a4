import type { OperatorPlan, OperatorPlanBody } from "../../../contracts/operator.js";
import { AppError } from "../../errors.js";
import { pricingOf, type BillingDeps } from "./billing-deps.js";
import { findPlan, isLivePlan, lockGroupBilling } from "./billing-repo.js";
import { planSummary } from "./get-billing-summary.js";

/**
 * The reseller changes a partner plan (operator API; a Stripe customer does this in the Stripe
 * portal): the packages from the next period (lowered, never raised: a raise is a purchase, charged
 * now) and whether it cancels at its period end, or resumes. Applied at the next renewal
 * (`renewDuePartnerPlans`). The same body again changes nothing.
 *
 * A past-due plan told to cancel is over at once for the page and for purchases (the answer's plan
 * is null, as the billing summary's is; its period's credits ended with the declined renewal); the
 * renewal round ends it, after asking the partner whether a retry in flight or with a lost answer
 * was charged after all (then that period is granted and the plan ends after it). Ending it here
 * could not ask without a call inside the lock, and a retry answering after it would revive it.
 */
export async function changePartnerPlan(deps: BillingDeps, groupId: string, body: OperatorPlanBody): Promise<OperatorPlan> {
  return deps.database.transaction(async (q) => {
    const profile = await lockGroupBilling(q, groupId);
    if (!profile) throw new AppError("conflict", "Billing is not enabled for this group.");
    if (profile.customer_type !== "partner") {
      throw new AppError("conflict", "This group pays with Stripe: its admins change the plan with Manage plan on the billing page.");
    }
    const now = deps.clock();
    const plan = await findPlan(q, groupId, true);
    if (!isLivePlan(plan, now)) throw new AppError("conflict", "The group has no monthly plan.");
    if (body.nextPeriodPackages > plan.quantity) {
      throw new AppError("conflict", `The plan has ${plan.quantity} packages. Raising it is a purchase, charged now: buy monthly packages on the billing page.`);
    }
    const next = body.nextPeriodPackages === plan.quantity ? null : body.nextPeriodPackages;
    const { rows } = await q<typeof plan>(
      "update plans set cancel_at_period_end = $2, next_period_quantity = $3, updated_at = now() where id = $1 returning *",
      [plan.id, body.cancelAtPeriodEnd, next],
    );
    const changed = rows[0]!;
    return { plan: isLivePlan(changed, now) ? planSummary(changed, pricingOf(deps.config).monthly) : null };
  });
}
