import type { InvoicesResponse } from "../../../contracts/billing.js";
import { describeBillingLine, type BillingLine } from "../../../domain/invoice-lines.js";
import { monthKey } from "../../../domain/periods.js";
import type { BillingDeps, GroupRef } from "./billing-deps.js";
import { findProfile } from "./billing-repo.js";
import { findCachedInvoices, storeInvoices } from "./outside-calls-repo.js";
import type { PaidInvoice } from "./ports.js";

/**
 * A partner account pays for every group of its organization: keep the charges we made for this
 * group. Those made on an account the organization used before (the reseller moved it) are not in
 * the current account's list: they are shown as we recorded them when they were made.
 */
async function listPartnerInvoices(deps: BillingDeps, groupId: string, accountId: string): Promise<PaidInvoice[]> {
  const charges = await deps.partner.listCharges(accountId);
  const { rows } = await deps.database.query<{ external_id: string; description: string; amount: string; currency: string; paid_at: Date; hosted_invoice_url: string | null }>(
    "select external_id, description, amount, currency, paid_at, hosted_invoice_url from invoices where group_id = $1 and provider = 'partner'",
    [groupId],
  );
  const ours = new Set(rows.map((r) => r.external_id));
  const current = charges.filter((c) => ours.has(c.id));
  const listed = new Set(current.map((c) => c.id));
  const earlier = rows
    .filter((r) => !listed.has(r.external_id))
    .map((r) => ({
      id: r.external_id,
      number: null,
      paidAt: r.paid_at,
      description: r.description,
      total: { amount: Number(r.amount), currency: r.currency },
      hostedInvoiceUrl: r.hosted_invoice_url,
    }));
  return [...current, ...earlier];
}

/** Paid invoices from the provider (Stripe or partner), newest first, optionally one calendar month. */
export async function listInvoices(deps: BillingDeps, group: GroupRef, month: string | undefined): Promise<InvoicesResponse> {
  const profile = await findProfile(deps.database.query, group.id);
  if (!profile) return { months: [], invoices: [] };
  // Cached briefly for every process; a payment recorded for the group purges it (outside-calls-repo).
  const cached = await findCachedInvoices(deps.database.query, group.id);
  let all = cached.invoices;
  if (!all) {
    const fetched =
      profile.customer_type === "partner"
        ? await listPartnerInvoices(deps, group.id, profile.partner_account_id!)
        : await deps.stripe.listPaidInvoices(profile.stripe_customer_id!);
    all = await wordInvoices(deps, group.id, fetched);
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

type PurchaseFacts = {
  id: string;
  partner_charge_id: string | null;
  type: "one_time" | "monthly";
  quantity: number;
  raises_plan: boolean;
  idempotency_key: string | null;
  period_end: Date | null;
  plan_packages: number | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Our purchases behind these invoices (by Stripe metadata or partner charge id), with what a
 * raise led to: the plan's packages right after its grant are the period's monthly grants up to
 * and including it (grants are written one after another under the group's lock), and its period
 * ends where the next one starts (or where the plan's current period ends).
 */
async function findPurchaseFacts(deps: BillingDeps, groupId: string, invoices: PaidInvoice[]) {
  const purchaseIds = invoices.map((i) => i.facts?.metadata.purchaseId).filter((id): id is string => !!id && UUID.test(id));
  const chargeIds = invoices.filter((i) => !i.facts).map((i) => i.id);
  if (purchaseIds.length === 0 && chargeIds.length === 0) return new Map<string, PurchaseFacts>();
  const { rows } = await deps.database.query<PurchaseFacts>(
    `select p.id, p.partner_charge_id, p.type, p.quantity, p.raises_plan, p.idempotency_key,
            coalesce((select min(g3.period_start) from credit_grants g3 where g3.group_id = p.group_id and g3.kind = 'monthly' and g3.period_start > g.period_start),
                     (select pl.current_period_end from plans pl where pl.group_id = p.group_id and pl.current_period_start = g.period_start),
                     g.expires_at) as period_end,
            (select sum(g2.packages) from credit_grants g2
              where g2.group_id = p.group_id and g2.kind = 'monthly' and g2.period_start = g.period_start and g2.id <= g.id)::int as plan_packages
       from purchases p left join credit_grants g on g.purchase_id = p.id and g.kind = 'monthly'
      where p.group_id = $1 and (p.id = any($2::uuid[]) or p.partner_charge_id = any($3::text[]))`,
    [groupId, purchaseIds, chargeIds],
  );
  const byKey = new Map<string, PurchaseFacts>();
  for (const r of rows) {
    byKey.set(r.id, r);
    if (r.partner_charge_id) byKey.set(r.partner_charge_id, r);
  }
  return byKey;
}

function lineOfPurchase(p: PurchaseFacts, autoTopUp: boolean): BillingLine {
  if (p.type === "one_time") return { kind: "one_time", packages: p.quantity, autoTopUp };
  if (p.raises_plan && p.period_end && p.plan_packages) return { kind: "plan_raise", addedPackages: p.quantity, planPackages: p.plan_packages, periodEnd: p.period_end };
  return { kind: "monthly", packages: p.quantity };
}

/** What a Stripe invoice is for: the subscription's own invoices by their reason, ours by the purchase they name. */
function lineOfStripeInvoice(facts: NonNullable<PaidInvoice["facts"]>, purchases: Map<string, PurchaseFacts>): BillingLine | null {
  const quantity = facts.quantity;
  if (facts.subscriptionId && quantity) {
    if (facts.billingReason === "subscription_update" && facts.periodEnd) return { kind: "plan_proration", planPackages: quantity, periodEnd: facts.periodEnd };
    if (facts.billingReason !== "manual") return { kind: "monthly", packages: quantity };
  }
  const purchase = facts.metadata.purchaseId ? purchases.get(facts.metadata.purchaseId) : undefined;
  if (purchase) return lineOfPurchase(purchase, !!facts.metadata.autoTopUpId || !!purchase.idempotency_key?.startsWith("auto-top-up:"));
  if (quantity && (facts.metadata.lineKind === "monthly" || facts.metadata.lineKind === "one_time")) return { kind: facts.metadata.lineKind, packages: quantity };
  return null;
}

/**
 * Every invoice line in the one wording of domain/invoice-lines.ts, for Stripe invoices and partner
 * charges alike. A line we cannot classify keeps its provider's text (for partner renewals and
 * auto top-ups that text was written by the same function when the charge was made).
 */
async function wordInvoices(deps: BillingDeps, groupId: string, invoices: PaidInvoice[]): Promise<PaidInvoice[]> {
  const purchases = await findPurchaseFacts(deps, groupId, invoices);
  const perPackage = deps.config.CREDITS_PER_PACKAGE;
  return invoices.map(({ facts, ...invoice }) => {
    const purchase = facts ? undefined : purchases.get(invoice.id);
    const line = facts ? lineOfStripeInvoice(facts, purchases) : purchase ? lineOfPurchase(purchase, !!purchase.idempotency_key?.startsWith("auto-top-up:")) : null;
    return line ? { ...invoice, description: describeBillingLine(line, perPackage) } : invoice;
  });
}
