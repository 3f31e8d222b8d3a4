import type { PurchaseBody } from "../../../contracts/billing.js";
import type { OperatorPlanBody } from "../../../contracts/operator.js";
import { changePartnerPlan } from "./change-partner-plan.js";
import type { BillingDeps, GroupRef } from "./billing-deps.js";
import { enableBilling } from "./enable-billing.js";
import { getBillingSummary } from "./get-billing-summary.js";
import { getPurchase } from "./get-purchase.js";
import { handleStripeEvent } from "./handle-stripe-event.js";
import { listInvoices } from "./list-invoices.js";
import { openPortal } from "./open-portal.js";
import { previewPurchase } from "./preview-purchase.js";
import { renewDuePartnerPlans } from "./renew-partner-plans.js";
import { settlePendingPurchases } from "./settle-purchases.js";
import { startPurchase } from "./start-purchase.js";
import type { StripeEventLike } from "./ports.js";

export type { BillingDeps, GroupRef } from "./billing-deps.js";
export { pricingOf } from "./billing-deps.js";

/** The billing use cases (one per file) bound to their dependencies, for the routes and the scheduler. */
export function createBillingService(deps: BillingDeps) {
  return {
    deps,
    getSummary: (group: GroupRef) => getBillingSummary(deps, group),
    enable: (group: GroupRef) => enableBilling(deps, group),
    preview: (group: GroupRef, body: PurchaseBody) => previewPurchase(deps, group, body),
    purchase: (group: GroupRef, body: PurchaseBody, idempotencyKey: string | undefined) => startPurchase(deps, group, body, idempotencyKey),
    getPurchase: (group: GroupRef, purchaseId: string) => getPurchase(deps, group, purchaseId),
    openPortal: (group: GroupRef) => openPortal(deps, group),
    listInvoices: (group: GroupRef, month: string | undefined) => listInvoices(deps, group, month),
    handleStripeEvent: (event: StripeEventLike) => handleStripeEvent(deps, event),
    settlePendingPurchases: () => settlePendingPurchases(deps),
    renewDuePartnerPlans: (now = deps.clock()) => renewDuePartnerPlans(deps, { now }),
    changePartnerPlan: (groupId: string, body: OperatorPlanBody) => changePartnerPlan(deps, groupId, body),
  };
}

export type BillingService = ReturnType<typeof createBillingService>;
