import { describeBillingLine } from "../../../domain/invoice-lines.js";
import { addMonths } from "../../../domain/periods.js";
import type { Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import { grantMonthlyPeriod } from "../ledger/index.js";
import type { BillingDeps } from "./billing-deps.js";
import {
  describePartnerCharge,
  findPlan,
  grantOneTimePurchase,
  isLivePlan,
  lockGroupBilling,
  lockPurchase,
  markPurchase,
  recordPartnerCharge,
  setPurchaseRefs,
  upsertPlan,
  type PurchaseRow,
} from "./billing-repo.js";
import type { PartnerChargeInfo } from "./ports.js";
import type { PurchaseOutcome } from "./start-purchase.js";

/** The partner's idempotency key of a purchase's charge: derived, so every retry and lookup uses the same. */
export const partnerKeyOf = (purchaseId: string) => `purchase:${purchaseId}`;

/** An auto top-up's purchase is charged with its intent's key, which is the purchase's own key (controls/auto-top-up.ts). */
export const isAutoTopUp = (p: Pick<PurchaseRow, "idempotency_key">) => p.idempotency_key?.startsWith("auto-top-up:") ?? false;

/** The key a purchase's partner charge was (or would have been) made with. */
export const partnerChargeKeyOf = (p: Pick<PurchaseRow, "id" | "idempotency_key">) => (isAutoTopUp(p) ? p.idempotency_key! : partnerKeyOf(p.id));

export const describePurchase = (deps: Pick<BillingDeps, "config">, p: Pick<PurchaseRow, "type" | "quantity" | "idempotency_key">) =>
  isAutoTopUp(p)
    ? describeBillingLine({ kind: "one_time", packages: p.quantity, autoTopUp: true }, deps.config.CREDITS_PER_PACKAGE)
    : describePartnerCharge({ type: p.type, quantity: p.quantity, creditsPerPackage: deps.config.CREDITS_PER_PACKAGE });

/**
 * Charge the partner account for a recorded purchase (no database lock is held meanwhile), then
 * apply the answer. credits.md "Unknown outcomes": a decline is 402; a request that never reached
 * the partner is 503 (nothing charged; the purchase stays pending, so the same key may retry, and
 * the settling loop fails it once the partner confirms it has no charge); a late or lost answer is
 * 202 pending, settled by `settlePendingPurchases`.
 */
export async function chargePartner(deps: BillingDeps, p: PurchaseRow, accountId: string): Promise<PurchaseOutcome> {
  const result = await deps.partner.charge({
    accountId,
    amount: Number(p.amount),
    currency: p.currency,
    description: describePurchase(deps, p),
    idempotencyKey: partnerKeyOf(p.id),
  });
  if (result.ok) {
    const status = await applyPartnerCharge(deps, p.id, result.charge);
    if (status === "completed") return { httpStatus: 200, body: { status: "completed", credits: Number(p.credits), purchaseId: p.id } };
    if (status === "pending") return { httpStatus: 202, body: { status: "pending", purchaseId: p.id } };
    throw new AppError("payment_failed", "The partner's charge did not match the purchase.");
  }
  if (result.code === "declined" || result.code === "rejected") {
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, p.group_id);
      await markPurchase(q, p.id, "failed", result.reason);
    });
    throw new AppError("payment_failed", result.reason);
  }
  if (result.code === "unavailable") throw new AppError("billing_unavailable", "The partner billing service is not available right now. Try again in a moment.");
  deps.logger.warn({ purchaseId: p.id, reason: result.reason }, "partner charge outcome unknown; the purchase stays pending");
  return { httpStatus: 202, body: { status: "pending", purchaseId: p.id } };
}

/**
 * Apply a partner charge to its purchase under the group's lock, exactly once: the charge must be
 * the purchase's own (amount and currency); the invoice line, the grant and the plan change are
 * written together. The purchase is pending, or failed only because the partner had no charge for
 * it when asked (the charge turned up later); a declined or otherwise failed purchase is left as it
 * is. A raise paid once its plan's period has ended, before the renewal moved the plan on, waits
 * (pending; the settling loop asks again): it is granted for the plan's next current period, since
 * the one it was bought for is over and the partner has no refund. Returns the purchase's status
 * afterwards.
 */
export async function applyPartnerCharge(deps: BillingDeps, purchaseId: string, charge: PartnerChargeInfo) {
  return deps.database.transaction(async (q) => {
    const { rows } = await q<{ group_id: string }>("select group_id from purchases where id = $1", [purchaseId]);
    if (!rows[0]) return "failed" as const;
    await lockGroupBilling(q, rows[0].group_id);
    const p = (await lockPurchase(q, purchaseId))!;
    if (p.status === "completed") return "completed" as const;
    if (p.status !== "pending" && !(p.status === "failed" && p.charge_not_found)) return "failed" as const;
    if (charge.amount !== Number(p.amount) || charge.currency.toLowerCase() !== p.currency.toLowerCase()) {
      deps.logger.error({ purchaseId, chargeId: charge.id, amount: charge.amount, currency: charge.currency }, "partner charge does not match its purchase; nothing granted");
      await markPurchase(q, p.id, "failed", "The partner's charge did not match the purchase.");
      return "failed" as const;
    }
    if (p.type === "monthly") {
      const plan = await findPlan(q, p.group_id, true);
      const now = deps.clock();
      if (isLivePlan(plan, now) && plan.current_period_end.getTime() <= now.getTime()) return "pending" as const;
    }
    await recordPartnerCharge(q, { groupId: p.group_id, charge, description: describePurchase(deps, p) });
    await setPurchaseRefs(q, p.id, { partnerChargeId: charge.id });
    await grantPurchase(deps, q, p, "partner");
    await markPurchase(q, p.id, "completed");
    return "completed" as const;
  });
}

/**
 * The credits of a paid purchase (caller holds the group's billing lock): one-time credits, or
 * monthly packages for the plan's current period (a raise) or a new plan's first period.
 */
export async function grantPurchase(deps: BillingDeps, q: Query, p: PurchaseRow, provider: "stripe" | "partner") {
  const now = deps.clock();
  if (p.type === "one_time") return grantOneTimePurchase(q, p, now);
  const plan = await findPlan(q, p.group_id, true);
  const raise = isLivePlan(plan, now);
  const start = raise ? plan.current_period_start : now;
  const end = raise ? plan.current_period_end : addMonths(now, 1);
  await grantMonthlyPeriod(q, { groupId: p.group_id, periodStart: start, periodEnd: end, packages: p.quantity, credits: Number(p.credits), sourceKey: `purchase:${p.id}`, purchaseId: p.id, now });
  if (raise && !p.raises_plan) {
    // A new plan's first month paid while another plan runs (told failed and found charged later,
    // `charge_not_found`, after the admin bought another plan; or two first purchases racing): its
    // month is granted in the running plan's period, and that plan stays as bought (raised, it would
    // bill the added packages every month, which no preview showed).
    return;
  }
  if (raise) {
    // Raising resumes a cancelling plan and replaces a lowering scheduled for the next period (the
    // preview promised the raised plan for every later period); Stripe's quantity follows (`syncPlanQuantity`).
    await q(
      "update plans set quantity = quantity + $2, cancel_at_period_end = false, next_period_quantity = null, quantity_synced = $3, updated_at = now() where id = $1",
      [plan.id, p.quantity, provider !== "stripe"],
    );
    return;
  }
  // A raise paid once its plan had ended (a partner charge that turned up late; Stripe refunds instead)
  // bought added packages, not a plan: its month is granted, and the plan it makes ends with that month
  // instead of renewing and charging every month for a plan no one bought.
  await upsertPlan(q, { groupId: p.group_id, provider, subscriptionId: null, quantity: p.quantity, status: "active", periodStart: start, periodEnd: end, cancelAtPeriodEnd: p.raises_plan });
}
