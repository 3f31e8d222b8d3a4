import type { Query } from "../../db/client.js";
import type { BillingDeps } from "./billing-deps.js";
import { findProfile, lockGroupBilling, lockPurchase, markChargeNotFound, markPurchase, type PurchaseRow } from "./billing-repo.js";
import { applyPartnerCharge, partnerChargeKeyOf, partnerKeyOf } from "./charge-partner.js";
import { applyPaidTopUpInvoice, fulfilCheckoutSession, reconcileSubscription, TOP_UP_REFUNDED } from "./handle-stripe-event.js";
import { isCustomerDeleted, isMissingStripeObject } from "./customer-deleted.js";
import { raisePlan, syncPlanQuantity } from "./raise-plan.js";
import { closeForDeletedCustomer } from "./start-purchase.js";

/**
 * How long a purchase may stay unknown before "no charge at the partner" closes it as failed. A slow
 * partner may still commit the charge after that: such a purchase is read back for a while
 * (`reconcileUnfoundPartnerCharges`).
 */
export const PARTNER_SETTLE_AFTER_MS = 60_000;
/** Between two looks at one pending purchase (across every process). */
const RECHECK_MS = 5_000;
/**
 * How long a Checkout purchase may stay without its session before it is closed: creating the
 * session failed (503), so the customer never had its page; a retry with the same key within this
 * time still gets it (Stripe answers the same session to the same idempotency key).
 */
export const CHECKOUT_NEVER_STARTED_AFTER_MS = 10 * 60_000;

/**
 * The background loop that settles pending purchases (credits.md "Unknown outcomes"), so a late
 * or lost answer never depends on the page polling: a partner charge is looked up by its
 * idempotency key and granted (or failed) exactly once; a plan raise's invoice is continued with
 * its derived keys; a Checkout whose webhook was lost is read again from Stripe. Auto top-ups are
 * the auto top-up loop's (their charges have the intent's key, not the purchase's).
 * Rows are claimed one at a time with `FOR UPDATE SKIP LOCKED` and stamped `checked_at`, so any
 * number of processes share the work; no lock is held while the provider is asked.
 * Returns how many purchases were looked at.
 */
export async function settlePendingPurchases(deps: BillingDeps, { limit = 50 }: { limit?: number } = {}) {
  // First, so a purchase failed below for "no charge found" is looked up again at the next round, not at once.
  await reconcileUnfoundPartnerCharges(deps);
  const handled = await forEachClaimed(deps, {
    limit,
    claim: async (q, now) => {
      const { rows } = await q<PurchaseRow>(
        `select * from purchases
          where status = 'pending' and (checked_at is null or checked_at <= $1)
            and (provider = 'partner' or raises_plan or stripe_checkout_session_id is not null or created_at <= $2)
            and coalesce(idempotency_key, '') not like 'auto-top-up:%'
          order by created_at limit 1
            for update skip locked`,
        [new Date(now.getTime() - RECHECK_MS), new Date(now.getTime() - CHECKOUT_NEVER_STARTED_AFTER_MS)],
      );
      if (rows[0]) await q("update purchases set checked_at = $2 where id = $1", [rows[0].id, now]);
      return rows[0] ?? null;
    },
    work: (p, now) => settleOne(deps, p, now),
    failure: "could not settle a pending purchase yet; retrying later",
  });
  // Plans whose Stripe quantity lags a raise applied here (the raise's own sync failed or crashed).
  const { rows } = await deps.database.query<{ group_id: string }>("select group_id from plans where not quantity_synced and stripe_subscription_id is not null and status <> 'canceled' limit 20");
  for (const r of rows) await syncPlanQuantity(deps, r.group_id).catch(() => undefined);
  await reconcileLateRenewals(deps);
  await reconcileDeclinedTopUps(deps);
  return handled;
}

/** A failed purchase that may still be paid is read back this often, for this long after the purchase. */
export const READ_BACK_EVERY_MS = 3600_000;
export const READ_BACK_FOR_MS = 30 * 24 * 3600_000;

/**
 * Failed purchases that may still be paid (`which`, a condition on `purchases`): each is claimed
 * with `FOR UPDATE SKIP LOCKED` and read back, first at the next round and then hourly for 30 days
 * after the purchase; `work` grants it once if it was paid after all.
 */
function readBackFailed(deps: BillingDeps, { which, work, failure }: { which: string; work: (p: PurchaseRow) => Promise<unknown>; failure: string }) {
  return forEachClaimed(deps, {
    limit: 20,
    claim: async (q, now) => {
      const { rows } = await q<PurchaseRow>(
        `select * from purchases
          where status = 'failed' and (${which}) and created_at > $1 and (checked_at is null or checked_at <= $2)
          order by checked_at nulls first limit 1
            for update skip locked`,
        [new Date(now.getTime() - READ_BACK_FOR_MS), new Date(now.getTime() - READ_BACK_EVERY_MS)],
      );
      if (rows[0]) await q("update purchases set checked_at = $2 where id = $1", [rows[0].id, now]);
      return rows[0] ?? null;
    },
    work,
    failure,
  });
}

/**
 * Partner purchases (auto top-ups included) failed because the partner had no charge for their key
 * when asked: their request may still have been in flight at a slow partner, which commits it
 * later, and the customer is billed. A charge that turned up is granted once (`applyPartnerCharge`,
 * under the group's lock, like any other). A declined purchase is never read back.
 */
const reconcileUnfoundPartnerCharges = (deps: BillingDeps) =>
  readBackFailed(deps, {
    which: "charge_not_found and provider = 'partner'",
    work: async (p) => {
      const charge = await deps.partner.findChargeByIdempotencyKey(partnerChargeKeyOf(p));
      if (charge) await applyPartnerCharge(deps, p.id, charge);
    },
    failure: "could not look a failed partner purchase's charge up again yet; retrying later",
  });

/**
 * Declined Stripe auto top-ups whose invoice may have been paid since (its hosted page) while the
 * `invoice.paid` webhook was lost, or arrived before the decline was recorded: a paid one is
 * granted once (`applyPaidTopUpInvoice`, the webhook's own path).
 */
const reconcileDeclinedTopUps = (deps: BillingDeps) =>
  readBackFailed(deps, {
    which: `provider = 'stripe' and stripe_invoice_id is not null and idempotency_key like 'auto-top-up:%' and failure_reason is distinct from '${TOP_UP_REFUNDED.replaceAll("'", "''")}'`,
    work: async (p) => {
      // A draft deleted when its top-up was closed uncharged (auto-top-up.ts) is gone: nothing can pay it.
      const invoice = await deps.stripe.retrieveInvoice(p.stripe_invoice_id!).catch((err: unknown) => {
        if (isMissingStripeObject(err)) return null;
        throw err;
      });
      if (invoice?.paid) await applyPaidTopUpInvoice(deps, p.id, invoice);
    },
    failure: "could not read a declined top-up's invoice back yet; retrying later",
  });

/** How long a Stripe plan's renewal may go unheard of after its period end before Stripe is asked (and again, per plan). */
export const STRIPE_RENEWAL_LATE_MS = 5 * 60_000;

/**
 * Stripe plans whose period ended some minutes ago without a renewal applied here: their webhooks
 * were lost or are late, so the subscription is read back (`reconcileSubscription`). A paid renewal
 * is granted once, a declined one shows past due, an ended subscription ends the plan. Each plan is
 * claimed with `FOR UPDATE SKIP LOCKED` and stamped (`renewal_claimed_at`, which Stripe plans use
 * for nothing else), so it is asked at most once per STRIPE_RENEWAL_LATE_MS across processes.
 */
async function reconcileLateRenewals(deps: BillingDeps) {
  await forEachClaimed(deps, {
    limit: 20,
    claim: async (q, now) => {
      const late = new Date(now.getTime() - STRIPE_RENEWAL_LATE_MS);
      const { rows } = await q<{ id: string; stripe_subscription_id: string }>(
        `select id, stripe_subscription_id from plans
          where provider = 'stripe' and stripe_subscription_id is not null and status <> 'canceled'
            and current_period_end <= $1 and (renewal_claimed_at is null or renewal_claimed_at <= $1)
          order by current_period_end limit 1
            for update skip locked`,
        [late],
      );
      if (rows[0]) await q("update plans set renewal_claimed_at = $2 where id = $1", [rows[0].id, now]);
      return rows[0] ?? null;
    },
    work: (plan) => reconcileSubscription(deps, plan.stripe_subscription_id),
    failure: "could not read a late renewal back from Stripe yet; retrying later",
  });
}

/**
 * Claim rows one at a time and work on each: `claim` selects one row `FOR UPDATE SKIP LOCKED` and
 * stamps it in its own transaction, so other processes (and this loop) pass it by until the stamp
 * is old; `work` then runs with no lock held. A failure is logged and the row waits for its stamp
 * to age. Returns how many rows were claimed.
 */
async function forEachClaimed<T extends { id: string }>(
  deps: BillingDeps,
  { limit, claim, work, failure }: { limit: number; claim: (q: Query, now: Date) => Promise<T | null>; work: (row: T, now: Date) => Promise<unknown>; failure: string },
) {
  let handled = 0;
  for (; handled < limit; handled++) {
    const now = deps.clock();
    const row = await deps.database.transaction((q) => claim(q, now));
    if (!row) break;
    try {
      await work(row, now);
    } catch (err) {
      deps.logger.warn({ id: row.id, err: (err as Error).message }, failure);
    }
  }
  return handled;
}

async function settleOne(deps: BillingDeps, p: PurchaseRow, now: Date) {
  if (p.provider === "partner") {
    const charge = await deps.partner.findChargeByIdempotencyKey(partnerKeyOf(p.id));
    if (charge) {
      await applyPartnerCharge(deps, p.id, charge);
      return;
    }
    if (now.getTime() - p.created_at.getTime() < PARTNER_SETTLE_AFTER_MS) return;
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, p.group_id);
      await lockPurchase(q, p.id);
      await markChargeNotFound(q, p.id, "The partner has no charge for this purchase; nothing was charged.");
    });
    return;
  }
  if (p.raises_plan) {
    const profile = await findProfile(deps.database.query, p.group_id);
    if (profile?.stripe_customer_id) {
      await raisePlan(deps, p, profile.stripe_customer_id).catch(async (err: unknown) => {
        // Its customer deleted at Stripe: nothing can be charged, now or later.
        if (isCustomerDeleted(err)) await closeForDeletedCustomer(deps, p, false);
      });
    }
    return;
  }
  if (p.stripe_checkout_session_id && now.getTime() - p.created_at.getTime() > 30_000) {
    await fulfilCheckoutSession(deps, await deps.stripe.retrieveCheckoutSession(p.stripe_checkout_session_id));
    return;
  }
  // Its Checkout was never started (the customer got 503): nothing can be paid, so it is closed
  // instead of pending for ever (which also kept the group from being deleted).
  if (!p.stripe_checkout_session_id && now.getTime() - p.created_at.getTime() >= CHECKOUT_NEVER_STARTED_AFTER_MS) {
    await deps.database.transaction(async (q) => {
      await lockGroupBilling(q, p.group_id);
      const locked = await lockPurchase(q, p.id);
      if (locked?.status === "pending" && !locked.stripe_checkout_session_id) {
        await markPurchase(q, p.id, "cancelled", "Checkout could not be started; nothing was charged.");
      }
    });
  }
}
