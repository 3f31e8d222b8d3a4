import type { Query } from "../../db/client.js";
import type { PartnerChargeResult } from "./ports.js";
import { grantCredits } from "../ledger/index.js";

type PartnerCharge = Extract<PartnerChargeResult, { ok: true }>["charge"];

/**
 * The idempotent steps that turn a confirmed payment into credits. Every function may run twice,
 * concurrently or out of order (webhook redeliveries, a page polling, a renewal sweeper): grants
 * are unique by source key and plans converge to the provider's state.
 */

export interface PurchaseRow {
  id: string;
  group_id: string;
  type: "one_time" | "monthly";
  quantity: number;
  credits: number;
  amount: number;
  currency: string;
  provider: "stripe" | "partner";
  status: "pending" | "completed" | "failed" | "cancelled";
  idempotency_key: string | null;
  stripe_checkout_session_id: string | null;
  failure_reason: string | null;
}

/**
 * The group's billing lock: every change of a group's plan, purchases or pool grants takes the
 * group's billing-profile row lock first (docs/decisions/0004 "Lock order": billing profile, then
 * purchase, then plan, then grants in id order), so concurrent changes run one after another.
 * Returns false when the group has no billing profile.
 */
export async function lockGroupBilling(query: Query, groupId: string) {
  const { rows } = await query("select group_id from billing_profiles where group_id = $1 for update", [groupId]);
  return rows.length > 0;
}

/**
 * `for no key update`: grants reference their purchase, and the foreign-key check of a grant insert in
 * another transaction (which holds the plan) must not wait for this lock, or the two deadlock.
 */
export async function lockPurchase(query: Query, id: string) {
  const { rows } = await query<PurchaseRow>("select * from purchases where id = $1 for no key update", [id]);
  return rows[0] ?? null;
}

export async function markPurchase(query: Query, id: string, status: PurchaseRow["status"], failureReason: string | null = null) {
  await query(
    `update purchases set status = $2, failure_reason = $3, completed_at = case when $2 = 'completed' then now() else completed_at end
      where id = $1 and status <> 'completed'`,
    [id, status, failureReason],
  );
}

export async function grantOneTimePurchase(query: Query, purchase: PurchaseRow) {
  await grantCredits(query, {
    kind: "one_time",
    groupId: purchase.group_id,
    credits: purchase.credits,
    packages: purchase.quantity,
    purchaseId: purchase.id,
    sourceKey: `purchase:${purchase.id}`,
  });
  await markPurchase(query, purchase.id, "completed");
}

export interface PlanRow {
  id: string;
  group_id: string;
  provider: "stripe" | "partner";
  stripe_subscription_id: string | null;
  quantity: number;
  status: "active" | "canceled" | "past_due";
  current_period_start: Date;
  current_period_end: Date;
  cancel_at_period_end: boolean;
}

export async function findPlan(query: Query, groupId: string, lock = false) {
  const { rows } = await query<PlanRow>(`select * from plans where group_id = $1${lock ? " for update" : ""}`, [groupId]);
  return rows[0] ?? null;
}

/** Create or bring a group's plan to the given state (the provider's truth). */
export async function upsertPlan(
  query: Query,
  p: {
    groupId: string;
    provider: "stripe" | "partner";
    subscriptionId: string | null;
    quantity: number;
    status: PlanRow["status"];
    periodStart: Date;
    periodEnd: Date;
    cancelAtPeriodEnd: boolean;
  },
) {
  const { rows } = await query<PlanRow>(
    `insert into plans (group_id, provider, stripe_subscription_id, quantity, status, current_period_start, current_period_end, cancel_at_period_end)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (group_id) do update set
       provider = excluded.provider, stripe_subscription_id = excluded.stripe_subscription_id, quantity = excluded.quantity,
       status = excluded.status, current_period_start = excluded.current_period_start,
       current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end, updated_at = now()
     returning *`,
    [p.groupId, p.provider, p.subscriptionId, p.quantity, p.status, p.periodStart, p.periodEnd, p.cancelAtPeriodEnd],
  );
  return rows[0]!;
}

export const formatCount = (n: number) => new Intl.NumberFormat("en-US").format(n);

/** How a partner charge reads in the billing history. */
export function describePartnerCharge(c: { type: "one_time" | "monthly" | "renewal"; quantity: number; creditsPerPackage: number }) {
  const credits = formatCount(c.quantity * c.creditsPerPackage);
  const packages = `${c.quantity} × ${formatCount(c.creditsPerPackage)}`;
  if (c.type === "one_time") return `One-time credits: ${packages} (${credits} credits)`;
  return `${c.type === "renewal" ? "Monthly credits renewal" : "Monthly credits"}: ${packages} (${credits} credits per month)`;
}

/** Our record of a partner charge for the group it paid for (the partner's account is shared by the organization). */
export async function recordPartnerCharge(query: Query, { groupId, charge, description }: { groupId: string; charge: PartnerCharge; description: string }) {
  await query(
    `insert into invoices (group_id, provider, external_id, number, description, amount, currency, paid_at, hosted_invoice_url)
     values ($1, 'partner', $2, null, $3, $4, $5, $6, $7) on conflict (external_id) do nothing`,
    [groupId, charge.id, description, charge.amount, charge.currency, new Date(charge.createdAt), charge.receiptUrl ?? null],
  );
}
