import type { PurchaseStatus } from "../../../contracts/billing.js";
import { AppError } from "../../errors.js";
import type { BillingDeps, GroupRef } from "./billing-deps.js";
import type { PurchaseRow } from "./billing-repo.js";

/**
 * A purchase's state for the page (reads never write: pending purchases are settled by the
 * webhook and the settling loop, not by this read). `open` is a Checkout not yet paid.
 */
export async function getPurchase(deps: BillingDeps, group: GroupRef, purchaseId: string): Promise<PurchaseStatus> {
  const { rows } = await deps.database.query<PurchaseRow>("select * from purchases where id = $1 and group_id = $2", [purchaseId, group.id]);
  const p = rows[0];
  if (!p) throw new AppError("not_found", "Purchase not found.");
  return { id: p.id, type: p.type, quantity: p.quantity, credits: Number(p.credits), status: statusOf(p), failureReason: p.failure_reason };
}

export function statusOf(p: Pick<PurchaseRow, "status" | "stripe_checkout_session_id" | "raises_plan">): PurchaseStatus["status"] {
  if (p.status === "cancelled") return "expired";
  if (p.status === "pending") return p.stripe_checkout_session_id && !p.raises_plan ? "open" : "pending";
  return p.status;
}
