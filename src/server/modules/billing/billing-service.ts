import type { BillingSummary, InvoicesResponse, PurchaseBody, PurchaseResponse, PurchaseStatus } from "../../../contracts/billing.js";
import { addMonths, monthKey } from "../../../domain/periods.js";
import { quotePurchase, type PackagePricing } from "../../../domain/pricing.js";
import type { Clock } from "../../clock.js";
import type { Config } from "../../config.js";
import type { Database, Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import {
  describePartnerCharge,
  findPlan,
  formatCount,
  grantOneTimePurchase,
  lockGroupBilling,
  lockPurchase,
  markPurchase,
  recordPartnerCharge,
  upsertPlan,
  type PurchaseRow,
} from "./fulfilment.js";
import { findCreditBalances, grantMonthlyPeriod } from "../ledger/index.js";
import { claimReconcile, findCachedInvoices, storeInvoices } from "./outside-calls-repo.js";
import type { PartnerPort, StripePort } from "./ports.js";
import { fulfilCheckoutSession } from "./stripe-events.js";

export interface BillingDeps {
  database: Database;
  config: Config;
  clock: Clock;
  stripe: StripePort;
  partner: PartnerPort;
  publicUrl: string;
  /** Base of the partner's portal; the account id is appended. */
  partnerPortalUrl: string;
}

export interface GroupRef {
  id: string;
  orgId: string;
  name: string;
}

interface Profile {
  customer_type: "standard" | "partner";
  stripe_customer_id: string | null;
  partner_account_id: string | null;
}

export const pricingOf = (config: Config): PackagePricing => ({
  creditsPerPackage: config.CREDITS_PER_PACKAGE,
  oneTime: { amount: config.PRICE_ONE_TIME, currency: config.CURRENCY },
  monthly: { amount: config.PRICE_MONTHLY, currency: config.CURRENCY },
});

async function findProfile(query: Query, groupId: string) {
  const { rows } = await query<Profile>("select customer_type, stripe_customer_id, partner_account_id from billing_profiles where group_id = $1", [groupId]);
  return rows[0] ?? null;
}

async function requireProfile(query: Query, groupId: string) {
  const profile = await findProfile(query, groupId);
  if (!profile) throw new AppError("billing_not_enabled", "Billing is not enabled for this group.");
  return profile;
}

export function createBillingService(deps: BillingDeps) {
  const { database, config } = deps;
  const pricing = pricingOf(config);

  async function getSummary(group: GroupRef): Promise<BillingSummary> {
    const profile = await findProfile(database.query, group.id);
    const { monthly, oneTime } = await findCreditBalances(database.query, { websiteId: null, groupId: group.id, now: deps.clock() });
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
        oneTime: oneTime
          ? { total: oneTime.granted, used: oneTime.granted - oneTime.remaining, remaining: oneTime.remaining }
          : null,
      },
    };
  }

  /** One billing profile per group; repeating it (even concurrently) creates nothing more. */
  async function enable(group: GroupRef) {
    const existing = await findProfile(database.query, group.id);
    if (existing) return { enabled: true as const, customerType: existing.customer_type };
    const { rows } = await database.query<{ partner_managed: boolean; partner_account_id: string | null }>(
      "select partner_managed, partner_account_id from organizations where id = $1",
      [group.orgId],
    );
    const org = rows[0]!;
    if (org.partner_managed) {
      await database.query(
        `insert into billing_profiles (group_id, customer_type, partner_account_id) values ($1, 'partner', $2) on conflict do nothing`,
        [group.id, org.partner_account_id],
      );
    } else {
      // The same idempotency key makes Stripe answer concurrent or repeated calls with one customer.
      const customer = await deps.stripe.createCustomer({ groupId: group.id, name: group.name, idempotencyKey: `enable-billing:${group.id}` });
      await database.query(
        `insert into billing_profiles (group_id, customer_type, stripe_customer_id) values ($1, 'standard', $2) on conflict do nothing`,
        [group.id, customer.id],
      );
    }
    const profile = await findProfile(database.query, group.id);
    return { enabled: true as const, customerType: profile!.customer_type };
  }

  /** The purchase with this idempotency key, or a new pending one. Another body with the same key is a conflict. */
  async function openPurchase(group: GroupRef, body: PurchaseBody, idempotencyKey: string, provider: "stripe" | "partner") {
    const quote = quotePurchase({ type: body.type, quantity: body.quantity, pricing });
    const { rows } = await database.query<PurchaseRow>(
      `insert into purchases (group_id, type, quantity, credits, amount, currency, provider, status, idempotency_key)
       values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)
       on conflict (group_id, idempotency_key) do update set idempotency_key = excluded.idempotency_key
       returning *`,
      [group.id, body.type, body.quantity, quote.credits, quote.total.amount, quote.total.currency, provider, idempotencyKey],
    );
    const purchase = rows[0]!;
    if (purchase.type !== body.type || purchase.quantity !== body.quantity) {
      throw new AppError("conflict", "This idempotency key was already used for a different purchase.");
    }
    return { purchase, quote };
  }

  const describe = (p: Pick<PurchaseRow, "type" | "quantity">) =>
    describePartnerCharge({ type: p.type, quantity: p.quantity, creditsPerPackage: pricing.creditsPerPackage });

  async function purchase(group: GroupRef, body: PurchaseBody, idempotencyKey: string | undefined): Promise<PurchaseResponse> {
    const profile = await requireProfile(database.query, group.id);
    const key = idempotencyKey ?? crypto.randomUUID();
    const provider = profile.customer_type === "partner" ? "partner" : "stripe";
    const { purchase: p, quote } = await openPurchase(group, body, key, provider);
    if (p.status === "completed") return { status: "completed", credits: p.credits, purchaseId: p.id };

    const plan = body.type === "monthly" ? await findPlan(database.query, group.id) : null;
    const raisesPlan = !!plan && plan.status === "active" && plan.current_period_end.getTime() > deps.clock().getTime();

    if (provider === "partner") return purchaseFromPartner(group, profile, p, raisesPlan);
    if (raisesPlan) {
      const sub = await deps.stripe.updateSubscriptionQuantity({
        subscriptionId: plan.stripe_subscription_id!,
        quantity: plan.quantity + p.quantity,
        idempotencyKey: `purchase:${p.id}`,
      });
      await database.transaction(async (q) => {
        await lockGroupBilling(q, group.id);
        await grantMonthlyPeriod(q, {
          now: deps.clock(),
          groupId: group.id,
          periodStart: sub.currentPeriodStart,
          periodEnd: sub.currentPeriodEnd,
          packages: p.quantity,
          credits: p.credits,
          sourceKey: `purchase:${p.id}`,
          purchaseId: p.id,
        });
        await upsertPlan(q, {
          groupId: group.id,
          provider: "stripe",
          subscriptionId: sub.id,
          quantity: sub.quantity,
          status: "active",
          periodStart: sub.currentPeriodStart,
          periodEnd: sub.currentPeriodEnd,
          cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
        });
        await markPurchase(q, p.id, "completed");
      });
      return { status: "completed", credits: p.credits, purchaseId: p.id };
    }

    const back = `${deps.publicUrl}/groups/${group.id}/billing`;
    const session = await deps.stripe.createCheckoutSession({
      customerId: profile.stripe_customer_id!,
      mode: body.type === "one_time" ? "payment" : "subscription",
      productName: body.type === "one_time" ? `${formatCount(pricing.creditsPerPackage)} group credits (one-time)` : `${formatCount(pricing.creditsPerPackage)} group credits (monthly)`,
      unitAmount: quote.unitAmount,
      currency: quote.total.currency,
      quantity: body.quantity,
      successUrl: `${back}?checkout=success&purchase=${p.id}`,
      cancelUrl: `${back}?checkout=cancelled&purchase=${p.id}`,
      metadata: { groupId: group.id, purchaseId: p.id, type: body.type, quantity: String(body.quantity) },
      idempotencyKey: `checkout:${p.id}`,
    });
    await database.query("update purchases set stripe_checkout_session_id = $2 where id = $1 and stripe_checkout_session_id is null", [p.id, session.id]);
    if (!session.url) throw new AppError("billing_unavailable", "Stripe did not return a checkout page.");
    return { status: "redirect", url: session.url, purchaseId: p.id };
  }

  /** Charge the partner account at once. The purchase id is the partner's idempotency key, so a retry never charges twice. */
  async function purchaseFromPartner(group: GroupRef, profile: Profile, p: PurchaseRow, raisesPlan: boolean): Promise<PurchaseResponse> {
    const result = await deps.partner.charge({
      accountId: profile.partner_account_id!,
      amount: p.amount,
      currency: p.currency,
      description: describe(p),
      idempotencyKey: `purchase:${p.id}`,
    });
    if (!result.ok) {
      await markPurchase(database.query, p.id, "failed", result.reason);
      throw new AppError("payment_failed", result.reason);
    }
    await database.transaction(async (q) => {
      await lockGroupBilling(q, group.id);
      const locked = await lockPurchase(q, p.id);
      if (locked?.status === "completed") return;
      await recordPartnerCharge(q, { groupId: group.id, charge: result.charge, description: describe(p) });
      await q("update purchases set partner_charge_id = $2 where id = $1", [p.id, result.charge.id]);
      if (p.type === "one_time") return grantOneTimePurchase(q, p);
      const plan = await findPlan(q, group.id, true);
      const start = raisesPlan && plan ? plan.current_period_start : deps.clock();
      const end = raisesPlan && plan ? plan.current_period_end : addMonths(start, 1);
      await grantMonthlyPeriod(q, { groupId: group.id, periodStart: start, periodEnd: end, packages: p.quantity, credits: p.credits, sourceKey: `purchase:${p.id}`, purchaseId: p.id, now: deps.clock() });
      await upsertPlan(q, {
        groupId: group.id,
        provider: "partner",
        subscriptionId: null,
        quantity: (raisesPlan && plan ? plan.quantity : 0) + p.quantity,
        status: "active",
        periodStart: start,
        periodEnd: end,
        cancelAtPeriodEnd: false,
      });
      await markPurchase(q, p.id, "completed");
    });
    return { status: "completed", credits: p.credits, purchaseId: p.id };
  }

  /**
   * A purchase's state for the page returning from Checkout. A pending Checkout purchase is
   * reconciled with Stripe, so a late or lost webhook never loses a payment.
   */
  async function getPurchase(group: GroupRef, purchaseId: string): Promise<PurchaseStatus> {
    const read = async () => {
      const { rows } = await database.query<PurchaseRow>("select * from purchases where id = $1 and group_id = $2", [purchaseId, group.id]);
      return rows[0] ?? null;
    };
    let p = await read();
    if (!p) throw new AppError("not_found", "Purchase not found.");
    // At most one look at Stripe per purchase every few seconds, however often the page polls.
    if (p.status === "pending" && p.stripe_checkout_session_id && (await claimReconcile(database.query, p.id))) {
      const session = await deps.stripe.retrieveCheckoutSession(p.stripe_checkout_session_id);
      await fulfilCheckoutSession({ database, stripe: deps.stripe, config, clock: deps.clock, session });
      p = (await read())!;
    }
    return { id: p.id, type: p.type, quantity: p.quantity, credits: Number(p.credits), status: p.status, failureReason: p.failure_reason };
  }

  /** A partner account pays for every group of its organization: keep the charges we made for this group. */
  async function listPartnerInvoices(groupId: string, accountId: string) {
    const charges = await deps.partner.listCharges(accountId);
    const { rows } = await database.query<{ external_id: string }>(
      "select external_id from invoices where group_id = $1 and provider = 'partner'",
      [groupId],
    );
    const ours = new Set(rows.map((r) => r.external_id));
    return charges.filter((c) => ours.has(c.id));
  }

  /** Paid invoices from the provider (Stripe or partner), newest first, optionally one calendar month. */
  async function listInvoices(group: GroupRef, month: string | undefined): Promise<InvoicesResponse> {
    const profile = await findProfile(database.query, group.id);
    if (!profile) return { months: [], invoices: [] };
    // Cached briefly for every process; a payment recorded for the group purges it (outside-calls-repo).
    const cached = await findCachedInvoices(database.query, group.id);
    let all = cached.invoices;
    if (!all) {
      all = profile.customer_type === "partner" ? await listPartnerInvoices(group.id, profile.partner_account_id!) : await deps.stripe.listPaidInvoices(profile.stripe_customer_id!);
      await storeInvoices(database.query, group.id, all, cached.fetchStartedAt);
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

  return { getSummary, enable, purchase, getPurchase, listInvoices };
}

export type BillingService = ReturnType<typeof createBillingService>;
