import { describeBillingLine } from "../../../domain/invoice-lines.js";
import type { Query } from "../../db/client.js";
import type { RowOf } from "../../db/rows.js";
import type { billingProfiles, plans, purchases } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { grantCredits } from "../ledger/index.js";
import type { PartnerChargeInfo } from "./ports.js";

/**
 * Data access of the billing tables (profiles, purchases, plans, invoices), raw SQL with row types
 * from the schema. The lock order of every billing change (docs/decisions/0004):
 * billing profile -> purchase -> plan -> grants (ledger, in id order).
 */

export type PurchaseRow = RowOf<typeof purchases.$inferSelect>;
export type PlanRow = RowOf<typeof plans.$inferSelect>;
export type ProfileRow = RowOf<typeof billingProfiles.$inferSelect>;

export async function findProfile(query: Query, groupId: string) {
  const { rows } = await query<ProfileRow>("select * from billing_profiles where group_id = $1", [groupId]);
  return rows[0] ?? null;
}

export async function requireProfile(query: Query, groupId: string) {
  const profile = await findProfile(query, groupId);
  if (!profile) throw new AppError("billing_not_enabled", "Billing is not enabled for this group.");
  return profile;
}

/**
 * The group's billing lock, taken first by every change of a group's plan, purchases or pool
 * grants, so concurrent changes of one group run one after another. Null without a profile.
 */
export async function lockGroupBilling(query: Query, groupId: string) {
  const { rows } = await query<ProfileRow>("select * from billing_profiles where group_id = $1 for update", [groupId]);
  return rows[0] ?? null;
}

/**
 * Whether the group was deleted. Read under the group's billing lock, which a delete takes (after the
 * group's row) before its checks: a change let in before the delete committed finds it here, once the
 * delete is done, instead of charging for a group no one can use any more.
 */
export async function isGroupDeleted(query: Query, groupId: string) {
  const { rows } = await query<{ deleted: boolean }>("select deleted_at is not null as deleted from groups where id = $1", [groupId]);
  return rows[0]?.deleted ?? true;
}

export async function findPurchase(query: Query, id: string) {
  const { rows } = await query<PurchaseRow>("select * from purchases where id = $1", [id]);
  return rows[0] ?? null;
}

/**
 * `for no key update`: grants reference their purchase, and the foreign-key check of a grant
 * insert must not wait for this lock.
 */
export async function lockPurchase(query: Query, id: string) {
  const { rows } = await query<PurchaseRow>("select * from purchases where id = $1 for no key update", [id]);
  return rows[0] ?? null;
}

export async function findPurchaseByKey(query: Query, groupId: string, idempotencyKey: string) {
  const { rows } = await query<PurchaseRow>("select * from purchases where group_id = $1 and idempotency_key = $2", [groupId, idempotencyKey]);
  return rows[0] ?? null;
}

export async function insertPurchase(
  query: Query,
  p: Pick<PurchaseRow, "group_id" | "type" | "quantity" | "credits" | "amount" | "currency" | "provider" | "idempotency_key" | "raises_plan">,
) {
  const { rows } = await query<PurchaseRow>(
    `insert into purchases (group_id, type, quantity, credits, amount, currency, provider, status, idempotency_key, raises_plan)
     values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) returning *`,
    [p.group_id, p.type, p.quantity, p.credits, p.amount, p.currency, p.provider, p.idempotency_key, p.raises_plan],
  );
  return rows[0]!;
}

/** A purchase's final state; a completed purchase never changes again. */
export async function markPurchase(query: Query, id: string, status: PurchaseRow["status"], failureReason: string | null = null) {
  await query(
    `update purchases set status = $2, failure_reason = $3, charge_not_found = false, completed_at = case when $2 = 'completed' then now() else completed_at end
      where id = $1 and status <> 'completed'`,
    [id, status, failureReason],
  );
}

/**
 * A pending partner purchase failed because the partner has no charge for its key (its outcome was
 * unknown): unlike a decline, the charge may still turn up (a slow partner commits it late), so the
 * settling loop reads it back, from its next round (settle-purchases.ts).
 */
export async function markChargeNotFound(query: Query, id: string, failureReason: string) {
  await query("update purchases set status = 'failed', failure_reason = $2, charge_not_found = true, checked_at = null where id = $1 and status = 'pending'", [id, failureReason]);
}

/** The credits of a paid one-time purchase, and the purchase completed (caller holds the group's billing lock). */
export async function grantOneTimePurchase(query: Query, p: PurchaseRow, now: Date) {
  await grantCredits(query, { kind: "one_time", groupId: p.group_id, credits: Number(p.credits), packages: p.quantity, purchaseId: p.id, sourceKey: `purchase:${p.id}`, now });
  await markPurchase(query, p.id, "completed");
}

export async function setPurchaseRefs(query: Query, id: string, refs: { stripeCheckoutSessionId?: string; stripeInvoiceId?: string; stripeSubscriptionId?: string; partnerChargeId?: string }) {
  await query(
    `update purchases set stripe_checkout_session_id = coalesce(stripe_checkout_session_id, $2), stripe_invoice_id = coalesce(stripe_invoice_id, $3),
            stripe_subscription_id = coalesce(stripe_subscription_id, $4), partner_charge_id = coalesce(partner_charge_id, $5)
      where id = $1`,
    [id, refs.stripeCheckoutSessionId ?? null, refs.stripeInvoiceId ?? null, refs.stripeSubscriptionId ?? null, refs.partnerChargeId ?? null],
  );
}

export async function findPlan(query: Query, groupId: string, lock = false) {
  const { rows } = await query<PlanRow>(`select * from plans where group_id = $1${lock ? " for update" : ""}`, [groupId]);
  return rows[0] ?? null;
}

/**
 * A plan the group still has at `now` (active, unpaid, or cancelling until its period ends): a
 * monthly purchase raises it, never replaces it. Past its period's end a plan that is not
 * cancelling is still live: its renewal is due, pending or unpaid (credits.md: a pending renewal
 * keeps the old period's grant spendable until it settles), and replacing it then lost the renewal.
 */
export const isLivePlan = (plan: PlanRow | null, now: Date): plan is PlanRow =>
  !!plan && plan.status !== "canceled" && !(plan.cancel_at_period_end && plan.current_period_end.getTime() <= now.getTime());

/** A live plan whose period has ended and whose renewal has not been applied yet (due, or its payment pending). */
export const isRenewing = (plan: PlanRow, now: Date) => plan.status !== "past_due" && plan.current_period_end.getTime() <= now.getTime();

export interface PlanState {
  groupId: string;
  provider: "stripe" | "partner";
  subscriptionId: string | null;
  quantity: number;
  status: PlanRow["status"];
  periodStart: Date;
  periodEnd: Date;
  cancelAtPeriodEnd: boolean;
}

/** Create or bring a group's plan to the given state. */
export async function upsertPlan(query: Query, p: PlanState) {
  const { rows } = await query<PlanRow>(
    `insert into plans (group_id, provider, stripe_subscription_id, quantity, status, current_period_start, current_period_end, cancel_at_period_end)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (group_id) do update set
       provider = excluded.provider, stripe_subscription_id = excluded.stripe_subscription_id, quantity = excluded.quantity,
       status = excluded.status, current_period_start = excluded.current_period_start,
       current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end,
       quantity_synced = true, renewal_claimed_at = null, updated_at = now(),
       -- A lowering belongs to the plan it was set on: a new plan (the old one ended, another subscription,
       -- or a partner plan, which is only upserted when it starts) has none.
       next_period_quantity = case when plans.status = 'canceled' or excluded.stripe_subscription_id is null
         or plans.stripe_subscription_id is distinct from excluded.stripe_subscription_id then null else plans.next_period_quantity end
     returning *`,
    [p.groupId, p.provider, p.subscriptionId, p.quantity, p.status, p.periodStart, p.periodEnd, p.cancelAtPeriodEnd],
  );
  return rows[0]!;
}

export const formatCount = (n: number) => new Intl.NumberFormat("en-US").format(n);

/** How a partner charge reads in the billing history: the one wording of domain/invoice-lines.ts. */
export function describePartnerCharge(c: { type: "one_time" | "monthly" | "renewal"; quantity: number; creditsPerPackage: number }) {
  return describeBillingLine(c.type === "one_time" ? { kind: "one_time", packages: c.quantity } : { kind: "monthly", packages: c.quantity }, c.creditsPerPackage);
}

/** Our record of a partner charge for the group it paid for (the partner's account is shared by the organization). */
export async function recordPartnerCharge(query: Query, { groupId, charge, description }: { groupId: string; charge: PartnerChargeInfo; description: string }) {
  await query(
    `insert into invoices (group_id, provider, external_id, number, description, amount, currency, paid_at, hosted_invoice_url)
     values ($1, 'partner', $2, null, $3, $4, $5, $6, $7) on conflict (external_id) do nothing`,
    [groupId, charge.id, description, charge.amount, charge.currency, new Date(charge.createdAt), charge.receiptUrl ?? null],
  );
}
