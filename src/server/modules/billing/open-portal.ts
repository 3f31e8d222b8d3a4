import type { PortalSessionResponse } from "../../../contracts/billing.js";
import type { BillingDeps, GroupRef } from "./billing-deps.js";
import { requireProfile } from "./billing-repo.js";
import { customerDeleted, isCustomerDeleted } from "./customer-deleted.js";

/**
 * Where the customer manages the plan (api.md "Plans"): for a standard customer a Stripe customer
 * portal session (cancel at period end, resume, lower the quantity from the next period), which
 * returns to the group's billing page; every change comes back by webhook. For a partner customer
 * the partner's portal. Nothing is written here: the portal's changes arrive as events.
 */
export async function openPortal(deps: BillingDeps, group: GroupRef): Promise<PortalSessionResponse> {
  const profile = await requireProfile(deps.database.query, group.id);
  if (profile.customer_type === "partner") return { url: `${deps.partnerPortalUrl}/${profile.partner_account_id}` };
  const session = await deps.stripe
    .createPortalSession({
      customerId: profile.stripe_customer_id!,
      // `portal=return` makes the page read its plan again while the portal's webhooks arrive.
      returnUrl: `${deps.publicUrl}/groups/${group.id}/billing?portal=return`,
    })
    .catch((err: unknown) => {
      throw isCustomerDeleted(err) ? customerDeleted() : err;
    });
  return { url: session.url };
}
