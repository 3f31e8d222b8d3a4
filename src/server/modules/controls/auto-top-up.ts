import { quotePurchase } from "../../../domain/pricing.js";
import type { Clock } from "../../clock.js";
import type { Config } from "../../config.js";
import type { Database, Query } from "../../db/client.js";
import { pricingOf } from "../billing/billing-service.js";
import { describeBillingLine } from "../../../domain/invoice-lines.js";
import { grantOneTimePurchase, lockGroupBilling, lockPurchase, markChargeNotFound, markPurchase, recordPartnerCharge, type PurchaseRow } from "../billing/billing-repo.js";
import type { PartnerChargeInfo, PartnerPort, StripePort } from "../billing/ports.js";
import { ownInvoiceInput, recordOwnInvoice } from "../billing/own-invoice.js";
import { PARTNER_SETTLE_AFTER_MS } from "../billing/settle-purchases.js";
import { findPoolAvailable } from "./controls-repo.js";
import { enqueueAlert } from "./outbox.js";
import { syncPoolControls } from "./pool-state.js";

/**
 * Auto top-ups (credits.md "Pool controls"). `syncPoolControls` records the intent (an
 * `auto_top_ups` row, one per (group, crossing), at most one pending per group) in the transaction
 * that took the pool below the threshold. This loop, in whichever process claims the row:
 * 1. claims it and opens its one-time purchase (idempotency key `auto-top-up:<id>`), commits;
 * 2. charges outside any lock, with a key derived from the intent (a retry repeats the same
 *    request: Stripe and the partner answer with the first result); a Stripe top-up's invoice is
 *    the draft its key makes, recorded on the purchase before anything is charged on it (then
 *    continued as recorded, however long the top-up stays pending), and only that invoice is its
 *    payment (billing/own-invoice.ts);
 * 3. applies the answer in a second transaction under the group's billing lock: credits and
 *    `group.auto_top_up.succeeded`, or auto top-up turned off with the reason and
 *    `group.auto_top_up.failed`. An unknown outcome (timeout, outage) leaves the intent pending
 *    for a later attempt with the same key.
 * A top-up whose settings were turned off or changed after it started is never charged (again):
 * see `settleWithoutCharging`.
 */

export interface AutoTopUpDeps {
  database: Database;
  config: Config;
  stripe: StripePort;
  partner: PartnerPort;
  clock: Clock;
}

interface Intent {
  id: string;
  group_id: string;
  seq: number;
  packages: number;
  purchase_id: string | null;
  attempts: number;
}

interface Profile {
  customer_type: "standard" | "partner";
  stripe_customer_id: string | null;
  partner_account_id: string | null;
}

/** How long a claimed top-up belongs to its process; also the wait before retrying an unknown outcome. */
const CLAIM_LEASE_MS = 30_000;
const RETRY_AFTER_UNKNOWN_MS = 5_000;

/** The one wording of domain/invoice-lines.ts: "One-time credits · 2 packages (2,000 credits) · auto top-up". */
export const describeAutoTopUp = (packages: number, creditsPerPackage: number) => describeBillingLine({ kind: "one_time", packages, autoTopUp: true }, creditsPerPackage);

/** A declined Stripe top-up names its invoice: it stays open, and if it is paid later the purchase is granted. */
type ChargeOutcome = { kind: "paid"; partnerCharge: PartnerChargeInfo | null } | { kind: "failed"; reason: string; invoiceId?: string } | { kind: "unknown" };

/** Run due top-ups until none is left to claim; returns how many were handled. */
export async function runAutoTopUps(deps: AutoTopUpDeps): Promise<number> {
  let handled = 0;
  for (;;) {
    const claimed = await claimTopUp(deps);
    if (!claimed) return handled;
    handled++;
    const { intent, purchase, profile, unitAmount } = claimed;
    if (!profile) {
      await applyFailure(deps, intent, purchase, "Billing is not enabled for this group.");
      continue;
    }
    if (claimed.groupDeleted) {
      // Closed quietly: no settings turned off, failure alert sent or next top-up started for a group that is gone.
      await closeNotCharged(deps, intent, purchase, "The group was deleted; nothing was charged.", { groupGone: true });
      continue;
    }
    if (claimed.settingsChanged) {
      await settleWithoutCharging(deps, intent, purchase, profile);
      continue;
    }
    const outcome = await charge(deps, intent, purchase, profile, unitAmount);
    if (outcome.kind === "paid") await applySuccess(deps, intent, purchase, outcome.partnerCharge);
    else if (outcome.kind === "failed") await applyFailure(deps, intent, purchase, outcome.reason, outcome.invoiceId);
    else await retryLater(deps, intent);
  }
}

/**
 * A top-up's idempotency key: its purchase's, its charge's (partner and Stripe) and every look-up's,
 * so that a retry finds what an earlier attempt did.
 */
const topUpKeyOf = (intent: Pick<Intent, "id">) => `auto-top-up:${intent.id}`;

const retryLater = ({ database }: AutoTopUpDeps, intent: Intent) =>
  database.query("update auto_top_ups set claimed_until = now() + make_interval(secs => $2::double precision / 1000) where id = $1", [intent.id, RETRY_AFTER_UNKNOWN_MS]);

/** Step 1: one pending intent, leased to this process, with its purchase opened. */
async function claimTopUp({ database, config }: AutoTopUpDeps) {
  return database.transaction(async (q) => {
    const { rows } = await q<Intent>(
      `update auto_top_ups t set attempts = t.attempts + 1, claimed_until = now() + make_interval(secs => $1::double precision / 1000)
        where t.id = (select id from auto_top_ups
                       where status = 'pending' and (claimed_until is null or claimed_until < now())
                       order by created_at limit 1 for update skip locked)
       returning t.id, t.group_id, t.seq, t.packages, t.purchase_id, t.attempts`,
      [CLAIM_LEASE_MS],
    );
    const intent = rows[0];
    if (!intent) return null;
    // A share lock on the group's row, which a delete locks first: a delete under way commits before
    // this reads it (and then nothing is charged), or waits for this claim's purchase and is refused.
    const { rows: group } = await q<{ deleted: boolean }>("select deleted_at is not null as deleted from groups where id = $1 for share", [intent.group_id]);
    const groupDeleted = group[0]?.deleted ?? true;
    const { rows: controls } = await q<{ enabled: boolean; packages: number | null }>(
      "select auto_top_up_enabled as enabled, auto_top_up_packages as packages from group_controls where group_id = $1",
      [intent.group_id],
    );
    const settingsChanged = !controls[0]?.enabled || controls[0].packages !== intent.packages;
    const { rows: profiles } = await q<Profile>("select customer_type, stripe_customer_id, partner_account_id from billing_profiles where group_id = $1", [intent.group_id]);
    const profile = profiles[0] ?? null;
    const quote = quotePurchase({ type: "one_time", quantity: intent.packages, pricing: pricingOf(config) });
    const { rows: purchases } = await q<PurchaseRow>(
      `insert into purchases (group_id, type, quantity, credits, amount, currency, provider, status, idempotency_key)
       values ($1, 'one_time', $2, $3, $4, $5, $6, 'pending', $7)
       on conflict (group_id, idempotency_key) do update set idempotency_key = excluded.idempotency_key
       returning *`,
      [intent.group_id, intent.packages, quote.credits, quote.total.amount, quote.total.currency, profile?.customer_type === "partner" ? "partner" : "stripe", topUpKeyOf(intent)],
    );
    const purchase = purchases[0]!;
    if (!intent.purchase_id) await q("update auto_top_ups set purchase_id = $2 where id = $1", [intent.id, purchase.id]);
    return { intent, purchase, profile, unitAmount: quote.unitAmount, settingsChanged, groupDeleted };
  });
}

/** Step 2: the outside call, never under a database lock. */
async function charge(deps: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, profile: Profile, unitAmount: number): Promise<ChargeOutcome> {
  const { stripe, partner, config } = deps;
  if (profile.customer_type === "partner") {
    const description = describeAutoTopUp(purchase.quantity, config.CREDITS_PER_PACKAGE);
    const result = await partner.charge({ accountId: profile.partner_account_id!, amount: purchase.amount, currency: purchase.currency, description, idempotencyKey: topUpKeyOf(intent) });
    if (result.ok) return { kind: "paid", partnerCharge: result.charge };
    if (result.code === "declined" || result.code === "rejected") return { kind: "failed", reason: result.reason || "The partner declined the top-up." };
    return { kind: "unknown" };
  }
  try {
    const customerId = profile.stripe_customer_id!;
    const own = await recordOwnInvoice(deps, purchase, customerId);
    const invoice = await stripe.chargeInvoice({ ...ownInvoiceInput(deps, purchase, customerId), invoiceId: own.id, unitAmount, quantity: purchase.quantity });
    return invoice.paid ? { kind: "paid", partnerCharge: null } : { kind: "unknown" };
  } catch (err) {
    const e = err as { code?: string; message?: string; outcomeUnknown?: boolean; invoiceId?: string };
    // The decline's own words ("Your card was declined."): the page puts them after "Auto top-up is off" and "Turned off:".
    if (e.code === "payment_failed") return { kind: "failed", reason: e.message || "The saved card was declined.", ...(e.invoiceId ? { invoiceId: e.invoiceId } : {}) };
    if (e.code === "billing_unavailable") return { kind: "unknown" };
    return { kind: "failed", reason: `Stripe refused the top-up: ${e.message ?? "unknown error"}` };
  }
}

/**
 * Auto top-up was turned off, or its packages changed, after this top-up started: the admin no
 * longer wants this charge, so it is never sent (again). A first attempt has sent nothing and is
 * closed at once. A retry's earlier attempt may have charged (its answer was lost), so the charge
 * is only looked up by its key: granted once if found; otherwise, once the provider has had the
 * usual settle delay, the top-up is closed as not charged (a partner purchase stays marked, so a
 * slow partner's late charge is still found and granted by the settling loop). A Stripe top-up's
 * charge is only its own invoice (learned by its key if the earlier answer was lost; a paid copy of it
 * is not the charge), and the top-up is closed only once that invoice, left open, is voided, so that it
 * cannot be paid later. Auto top-up's settings are left as the admin set them.
 */
async function settleWithoutCharging(deps: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, profile: Profile) {
  if (intent.attempts > 1) {
    const settled = deps.clock().getTime() - purchase.created_at.getTime() >= PARTNER_SETTLE_AFTER_MS;
    let found: { partnerCharge: PartnerChargeInfo | null } | null;
    try {
      const own = profile.customer_type === "standard" ? await ownInvoiceOf(deps, purchase, profile) : null;
      found = await findEarlierCharge(deps, intent, purchase, profile, own);
      if (!found && settled && own) found = await voidOwnInvoice(deps, intent, purchase, own);
    } catch {
      await retryLater(deps, intent); // an outage: ask again
      return;
    }
    if (found) {
      await applySuccess(deps, intent, purchase, found.partnerCharge);
      return;
    }
    if (!settled) {
      await retryLater(deps, intent);
      return;
    }
  }
  await closeNotCharged(deps, intent, purchase, "Auto top-up was turned off or changed before this top-up was charged; nothing was charged.");
}

/** A Stripe top-up's own invoice: as recorded, or the draft its key makes (an earlier attempt's answer lost), recorded now. */
async function ownInvoiceOf(deps: AutoTopUpDeps, purchase: PurchaseRow, profile: Profile) {
  if (purchase.stripe_invoice_id) return purchase.stripe_invoice_id;
  return (await recordOwnInvoice(deps, purchase, profile.stripe_customer_id!)).id;
}

/** The charge an earlier attempt made with the intent's key, read only: the partner's by its key, Stripe's as its own invoice, paid. */
async function findEarlierCharge({ stripe, partner }: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, profile: Profile, ownInvoiceId: string | null) {
  if (profile.customer_type === "partner") {
    const partnerCharge = await partner.findChargeByIdempotencyKey(topUpKeyOf(intent));
    return partnerCharge ? { partnerCharge } : null;
  }
  const invoice = await stripe.retrieveInvoice(ownInvoiceId!);
  return invoice.paid && invoice.total === Number(purchase.amount) ? { partnerCharge: null } : null;
}

/**
 * The top-up's own invoice, made by an earlier attempt but never paid (its answer lost between create and
 * pay), voided (a draft deleted): left open, the customer could still pay it on its hosted page. Paid
 * meanwhile, it cannot be voided: it is the charge, found.
 */
async function voidOwnInvoice({ stripe }: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, invoiceId: string) {
  const after = await stripe.voidInvoice({ invoiceId, idempotencyKey: `${topUpKeyOf(intent)}:void:${invoiceId}` });
  return after.paid && after.total === Number(purchase.amount) ? { partnerCharge: null } : null;
}

/** Closed without a charge: nothing granted; the settings stay as they are, and a top-up due under them starts. */
async function closeNotCharged({ database, clock }: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, reason: string, { groupGone = false } = {}) {
  await database.transaction(async (q) => {
    await lockGroupBilling(q, intent.group_id);
    await lockPurchase(q, purchase.id);
    const { rows } = await q<{ status: string }>("select status from auto_top_ups where id = $1 for update", [intent.id]);
    if (rows[0]?.status !== "pending") return;
    await q("update auto_top_ups set status = 'failed', failure_reason = $2, completed_at = now(), claimed_until = null where id = $1", [intent.id, reason]);
    // A retry's earlier attempt was sent: a slow partner may still commit it (read back by the settling loop).
    if (purchase.provider === "partner" && intent.attempts > 1) await markChargeNotFound(q, purchase.id, reason);
    else await markPurchase(q, purchase.id, "failed", reason);
    if (!groupGone) await syncPoolControls(q, [intent.group_id], clock());
  });
}

async function topUpThreshold(q: Query, groupId: string) {
  const { rows } = await q<{ t: number | null }>("select auto_top_up_threshold as t from group_controls where group_id = $1", [groupId]);
  return rows[0]?.t === null || rows[0]?.t === undefined ? null : Number(rows[0].t);
}

/** Step 3, paid: the credits (once: the grant is unique by purchase), the history line, the alert. */
async function applySuccess({ database, clock, config }: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, partnerCharge: PartnerChargeInfo | null) {
  await database.transaction(async (q) => {
    await lockGroupBilling(q, intent.group_id);
    const locked = await lockPurchase(q, purchase.id);
    const { rows } = await q<{ status: string }>("select status from auto_top_ups where id = $1 for update", [intent.id]);
    if (locked?.status === "completed" || rows[0]?.status !== "pending") return;
    if (partnerCharge) {
      await recordPartnerCharge(q, { groupId: intent.group_id, charge: partnerCharge, description: describeAutoTopUp(purchase.quantity, config.CREDITS_PER_PACKAGE) });
      await q("update purchases set partner_charge_id = $2 where id = $1", [purchase.id, partnerCharge.id]);
    }
    // Done before the grant: the grant's pool check may start the next top-up if the pool is still below.
    await q("update auto_top_ups set status = 'succeeded', completed_at = now(), claimed_until = null where id = $1", [intent.id]);
    await grantOneTimePurchase(q, locked ?? purchase, clock());
    const available = (await findPoolAvailable(q, [intent.group_id], clock())).get(intent.group_id) ?? 0;
    const { rows: c } = await q<{ url: string | null }>("select alert_webhook_url as url from group_controls where group_id = $1", [intent.group_id]);
    await enqueueAlert(q, {
      groupId: intent.group_id,
      type: "group.auto_top_up.succeeded",
      url: c[0]?.url ?? null,
      data: { available, threshold: await topUpThreshold(q, intent.group_id), purchaseId: purchase.id, packages: purchase.quantity, credits: Number(purchase.credits) },
    });
  });
}

/**
 * Step 3, failed: nothing granted; auto top-up is turned off and keeps the reason for the page. A
 * declined invoice is kept on the purchase, so the settling loop can read it back if its payment's
 * webhook is lost (or came before this).
 */
async function applyFailure({ database, clock }: AutoTopUpDeps, intent: Intent, purchase: PurchaseRow, reason: string, invoiceId?: string) {
  await database.transaction(async (q) => {
    await lockGroupBilling(q, intent.group_id);
    const { rows } = await q<{ status: string }>("select status from auto_top_ups where id = $1 for update", [intent.id]);
    if (rows[0]?.status !== "pending") return;
    await q("update auto_top_ups set status = 'failed', failure_reason = $2, completed_at = now(), claimed_until = null where id = $1", [intent.id, reason]);
    await markPurchase(q, purchase.id, "failed", reason);
    if (invoiceId) await q("update purchases set stripe_invoice_id = $2 where id = $1", [purchase.id, invoiceId]);
    const { rows: c } = await q<{ url: string | null }>(
      `update group_controls set auto_top_up_enabled = false, auto_top_up_disabled_reason = $2, updated_at = now()
        where group_id = $1 returning alert_webhook_url as url`,
      [intent.group_id, reason],
    );
    const available = (await findPoolAvailable(q, [intent.group_id], clock())).get(intent.group_id) ?? 0;
    await enqueueAlert(q, {
      groupId: intent.group_id,
      type: "group.auto_top_up.failed",
      url: c[0]?.url ?? null,
      data: { available, threshold: await topUpThreshold(q, intent.group_id), purchaseId: purchase.id, reason },
    });
  });
}
