import type { Query } from "../../db/client.js";
import type { PartnerChargeResult } from "./ports.js";
import { expireLockedGrants, insertGrant } from "../credits/grants-repo.js";

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
  await insertGrant(query, {
    kind: "one_time",
    groupId: purchase.group_id,
    credits: purchase.credits,
    packages: purchase.quantity,
    purchaseId: purchase.id,
    sourceKey: `purchase:${purchase.id}`,
  });
  await markPurchase(query, purchase.id, "completed");
}

/**
 * The monthly grant of one billing period. Monthly grants of earlier periods are replaced: their
 * remainder is written to the ledger as expired.
 */
export async function grantMonthlyPeriod(
  query: Query,
  g: { groupId: string; periodStart: Date; periodEnd: Date; packages: number; credits: number; sourceKey: string; purchaseId?: string | null },
) {
  // One period change of a group at a time (every caller locks the plan before its grants, if there is a plan).
  await query("select id from plans where group_id = $1 for update", [g.groupId]);
  const { rows: older } = await query<{ id: number; remaining: number }>(
    `select id, remaining from credit_grants
      where group_id = $1 and kind = 'monthly' and remaining > 0 and period_start < $2
      order by id for update`,
    [g.groupId, g.periodStart],
  );
  await expireLockedGrants(query, older);
  if (g.periodEnd.getTime() <= Date.now()) return null; // a stale period: nothing left to spend
  // A later period was granted already (its events arrived first): this period is over. Its payment still
  // gets its one grant, expired at once, so that only the latest period's credits can be spent.
  const { rows: newer } = await query("select 1 from credit_grants where group_id = $1 and kind = 'monthly' and period_start > $2 limit 1", [g.groupId, g.periodStart]);
  const grant = await insertGrant(query, {
    kind: "monthly",
    groupId: g.groupId,
    credits: g.credits,
    packages: g.packages,
    expiresAt: g.periodEnd,
    periodStart: g.periodStart,
    purchaseId: g.purchaseId ?? null,
    sourceKey: g.sourceKey,
  });
  if (newer.length > 0 && grant.created) await expireLockedGrants(query, [{ id: grant.id, remaining: grant.granted }]);
  return grant;
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
