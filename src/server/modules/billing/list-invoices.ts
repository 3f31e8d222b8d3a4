import type { InvoicesResponse } from "../../../contracts/billing.js";
import { monthKey } from "../../../domain/periods.js";
import type { BillingDeps, GroupRef } from "./billing-deps.js";
import { findProfile } from "./billing-repo.js";
import { findCachedInvoices, storeInvoices } from "./outside-calls-repo.js";

/** A partner account pays for every group of its organization: keep the charges we made for this group. */
async function listPartnerInvoices(deps: BillingDeps, groupId: string, accountId: string) {
  const charges = await deps.partner.listCharges(accountId);
  const { rows } = await deps.database.query<{ external_id: string }>("select external_id from invoices where group_id = $1 and provider = 'partner'", [groupId]);
  const ours = new Set(rows.map((r) => r.external_id));
  return charges.filter((c) => ours.has(c.id));
}

/** Paid invoices from the provider (Stripe or partner), newest first, optionally one calendar month. */
export async function listInvoices(deps: BillingDeps, group: GroupRef, month: string | undefined): Promise<InvoicesResponse> {
  const profile = await findProfile(deps.database.query, group.id);
  if (!profile) return { months: [], invoices: [] };
  // Cached briefly for every process; a payment recorded for the group purges it (outside-calls-repo).
  const cached = await findCachedInvoices(deps.database.query, group.id);
  let all = cached.invoices;
  if (!all) {
    all =
      profile.customer_type === "partner"
        ? await listPartnerInvoices(deps, group.id, profile.partner_account_id!)
        : await deps.stripe.listPaidInvoices(profile.stripe_customer_id!);
    await storeInvoices(deps.database.query, group.id, all, cached.fetchStartedAt);
  }
  all.sort((a, b) => b.paidAt.getTime() - a.paidAt.getTime());
  const months = [...new Set(all.map((i) => monthKey(i.paidAt)))];
  const invoices = (month ? all.filter((i) => monthKey(i.paidAt) === month) : all).map((i) => ({
    id: i.id,
    number: i.number,
    paidAt: i.paidAt.toISOString(),
    description: i.description,
    total: i.total,
    hostedInvoiceUrl: i.hostedInvoiceUrl,
  }));
  return { months, invoices };
}
