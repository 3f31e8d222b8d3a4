import { and, eq, gt, inArray, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { autoTopUps, billingProfiles, creditGrants, plans, purchases } from "../../db/schema.js";
import { READ_BACK_FOR_MS } from "../billing/settle-purchases.js";
import { liveGrantSql } from "../ledger/index.js";

/** Credits still spendable, by the ledger's one rule (read only: the ledger module alone writes grants). */
const spendable = and(gt(creditGrants.remaining, 0), sql.raw(liveGrantSql("credit_grants", "now()")));

/**
 * Take the billing-profile locks of groups about to be deleted (the lock every change of a group's
 * plan or purchases takes first, in a fixed order), so no purchase completes between the check
 * and the delete.
 */
export async function lockBillingProfiles({ db, groupIds }: { db: DbOrTx; groupIds: string[] }) {
  if (groupIds.length === 0) return [];
  return db
    .select({ groupId: billingProfiles.groupId })
    .from(billingProfiles)
    .where(inArray(billingProfiles.groupId, groupIds))
    .orderBy(billingProfiles.groupId)
    .for("update");
}

/**
 * What deleting these groups would lose, as the sentence that tells the platform what to do first,
 * or null when nothing is at stake: credits left in their pools, a monthly plan still running,
 * a purchase whose payment is not settled yet.
 */
export async function findGroupMoneyAtStake({ db, groupIds }: { db: DbOrTx; groupIds: string[] }): Promise<string | null> {
  if (groupIds.length === 0) return null;
  const [credits] = await db
    .select({ left: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)`.mapWith(Number) })
    .from(creditGrants)
    .where(and(inArray(creditGrants.groupId, groupIds), spendable));
  const [plan] = await db
    .select({ id: plans.id })
    .from(plans)
    // A plan cancelling at its period end is the customer's until then: resumed (the Stripe portal, the
    // reseller), it renews and bills again, for a group that would be gone.
    .where(
      and(
        inArray(plans.groupId, groupIds),
        inArray(plans.status, ["active", "past_due"]),
        or(eq(plans.cancelAtPeriodEnd, false), gt(plans.currentPeriodEnd, sql`now()`)),
      ),
    )
    .limit(1);
  if (plan) return "A monthly plan is still active. Cancel it first; delete once its period has ended and no credits are left.";
  if (credits && credits.left > 0) return `${credits.left} credits are left in the pool. Delete once they are spent or have expired.`;
  const [pending] = await db
    .select({ id: purchases.id })
    .from(purchases)
    .where(and(inArray(purchases.groupId, groupIds), eq(purchases.status, "pending")))
    .limit(1);
  if (pending) return "A purchase is waiting for its payment. Delete once it has settled.";
  // A partner purchase failed because no charge was found is read back for READ_BACK_FOR_MS: a slow
  // partner may still commit its charge, which would bill the customer for a group that is gone.
  const [unfound] = await db
    .select({ id: purchases.id })
    .from(purchases)
    .where(
      and(
        inArray(purchases.groupId, groupIds),
        eq(purchases.status, "failed"),
        eq(purchases.chargeNotFound, true),
        gt(purchases.createdAt, sql`now() - make_interval(secs => ${READ_BACK_FOR_MS / 1000})`),
      ),
    )
    .limit(1);
  if (unfound) return "A partner charge of an earlier purchase may still arrive. Delete once it has been found or 30 days after the purchase.";
  // Started by the pool's last change and not yet claimed (its purchase is made when it is claimed).
  const [topUp] = await db
    .select({ id: autoTopUps.id })
    .from(autoTopUps)
    .where(and(inArray(autoTopUps.groupId, groupIds), eq(autoTopUps.status, "pending")))
    .limit(1);
  if (topUp) return "An auto top-up is being bought. Delete once it has settled.";
  return null;
}

/** Credits a website still holds of its own (never expired, not spent). */
export async function findWebsiteOwnCredits({ db, websiteId }: { db: DbOrTx; websiteId: string }): Promise<number> {
  const [row] = await db
    .select({ left: sql<number>`coalesce(sum(${creditGrants.remaining}), 0)`.mapWith(Number) })
    .from(creditGrants)
    .where(and(eq(creditGrants.websiteId, websiteId), spendable));
  return row?.left ?? 0;
}
