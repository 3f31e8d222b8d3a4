import type { BillingDeps } from "./billing-deps.js";
import { findProfile, findPurchase, lockGroupBilling, lockPurchase, setPurchaseRefs, type PurchaseRow } from "./billing-repo.js";
import { describePurchase, isAutoTopUp } from "./charge-partner.js";
import type { InvoiceDraftInput } from "./ports.js";

/**
 * A purchase's own one-off invoice: a Stripe plan raise's, or a Stripe auto top-up's (credits.md "Who
 * owns what"). It is the draft the purchase's key makes, recorded on the purchase before anything is
 * charged on it, and from then on taken as recorded, never from the key again (Stripe forgets a key
 * after 24 hours: asked again, the key would make another draft); only that invoice is the purchase's
 * payment. Another invoice naming the purchase in its metadata (the dashboard's "Duplicate invoice"
 * copies it) grants nothing, and one that billed the group's customer the purchase's amount is refunded
 * (`refundInvoiceCopy`): otherwise the customer, paying both, is billed twice for one grant.
 */

type PurchaseOfInvoice = Pick<PurchaseRow, "id" | "group_id" | "currency" | "type" | "quantity" | "idempotency_key">;

/**
 * The purchase's invoice as its key makes it: the same every time, since Stripe answers a key only for
 * the same request (each field as the purchase's charge has always sent it, so a purchase pending
 * across a deploy continues its invoice).
 */
export const ownInvoiceInput = (deps: Pick<BillingDeps, "config">, p: PurchaseOfInvoice, customerId: string): InvoiceDraftInput =>
  isAutoTopUp(p)
    ? {
        customerId,
        currency: p.currency,
        description: describePurchase(deps, p),
        metadata: { groupId: p.group_id, purchaseId: p.id, autoTopUpId: p.idempotency_key!.slice("auto-top-up:".length) },
        idempotencyKey: p.idempotency_key!,
      }
    : {
        customerId,
        currency: p.currency,
        description: describePurchase(deps, p),
        metadata: { purchaseId: p.id, groupId: p.group_id },
        idempotencyKey: `raise:${p.id}`,
      };

/**
 * The purchase's own invoice: the one recorded on it, or else the draft its key makes (made now if no
 * attempt got that far; the same key answers the same draft, so an attempt whose answer was lost is
 * learned here), recorded on the purchase under the group's lock before anything is charged on it. A
 * purchase that has its invoice recorded (on the row passed, or in the database if that row is stale)
 * never asks Stripe for the draft again: Stripe forgets a key after 24 hours, and a purchase pending
 * longer (an outage) would make another draft with it, a stray one. The Stripe call is made with no lock
 * held. Returns the purchase's invoice id and the purchase as recorded (a purchase that got its invoice
 * recorded meanwhile keeps it: the id returned is always the one recorded).
 */
export async function recordOwnInvoice(deps: Pick<BillingDeps, "database" | "stripe" | "config">, p: PurchaseOfInvoice & Pick<PurchaseRow, "stripe_invoice_id">, customerId: string) {
  const recorded = p.stripe_invoice_id ?? (await findPurchase(deps.database.query, p.id))?.stripe_invoice_id ?? null;
  const draftId = recorded ?? (await deps.stripe.createInvoiceDraft(ownInvoiceInput(deps, p, customerId))).id;
  const purchase = await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, p.group_id);
    if (!recorded) await setPurchaseRefs(q, p.id, { stripeInvoiceId: draftId });
    return (await lockPurchase(q, p.id))!;
  });
  const id = purchase.stripe_invoice_id;
  if (!id) throw new Error(`purchase ${p.id}: its own invoice was not recorded`);
  return { id, purchase };
}

/**
 * Before an invoice naming a pending purchase is applied: if the purchase's own invoice is not recorded
 * yet (the answer that named it was lost), it is learned first, as the purchase's retry would learn it,
 * so that a copy paid meanwhile is told from it.
 */
export async function learnOwnInvoice(deps: Pick<BillingDeps, "database" | "stripe" | "config">, purchaseId: string) {
  const known = await findPurchase(deps.database.query, purchaseId);
  if (known?.status !== "pending" || known.stripe_invoice_id) return;
  const customerId = (await findProfile(deps.database.query, known.group_id))?.stripe_customer_id;
  if (customerId) await recordOwnInvoice(deps, known, customerId);
}

/** A one-off invoice is a purchase's own payment only on the group's Stripe customer, for the purchase's amount and currency. */
export const isPurchaseInvoice = (
  invoice: { customerId: string | null; total: number; currency: string },
  p: Pick<PurchaseRow, "amount" | "currency">,
  profile: { stripe_customer_id: string | null } | null,
) => invoice.customerId === profile?.stripe_customer_id && invoice.total === Number(p.amount) && invoice.currency.toLowerCase() === p.currency.toLowerCase();

/**
 * Give back an invoice that billed the customer for a purchase without being its payment (a copy of its
 * invoice, made in the dashboard, paid): it bought nothing, and the purchase is paid by its own invoice.
 * One key per copy, so every replay of its event is the same refund.
 */
export async function refundInvoiceCopy(deps: Pick<BillingDeps, "stripe" | "logger">, p: Pick<PurchaseRow, "id" | "group_id" | "idempotency_key">, invoiceId: string) {
  const kind = isAutoTopUp(p) ? "top-up" : "raise";
  const refund = await deps.stripe.refundInvoice({ invoiceId, metadata: { reason: `not the ${kind}'s own invoice`, purchaseId: p.id }, idempotencyKey: `${kind}-copy-refund:${invoiceId}` });
  deps.logger.warn({ groupId: p.group_id, purchaseId: p.id, invoiceId, refunded: refund.amount }, `copy of a ${kind}'s invoice paid; refunded`);
}
