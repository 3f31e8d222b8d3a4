import type Stripe from "stripe";
import type { BillingEngineContext } from "./billing-engine.js";
import { invalidParam, resourceMissing, StripeApiError } from "./emulator-state.js";
import { buildInvoiceItem, buildInvoicePayment } from "./payment-objects.js";
import { cardDeclinedError, defaultPaymentMethodId, takePayment, type PaymentOutcome } from "./payments-engine.js";
import {
  addInvoiceLine,
  buildInvoice,
  buildPrice,
  finalizeInvoiceObject,
  markInvoicePaidObject,
  nowSeconds,
  type EmittedEvent,
} from "./stripe-objects.js";

/**
 * One-off invoices: invoice items, and invoices created as drafts, finalized and paid on the
 * customer's default card (`charge_automatically`), as Stripe does for a charge outside a
 * subscription period (e.g. the added packages of a raised plan, an automatic top-up).
 */

function customerOf(ctx: BillingEngineContext, id: string, param = "customer"): Stripe.Customer {
  const customer = ctx.state.customers[id];
  if (!customer) throw resourceMissing({ kind: "customer", id, param });
  return customer;
}

function invoiceOf(ctx: BillingEngineContext, id: string, param = "invoice"): Stripe.Invoice {
  const invoice = ctx.state.invoices.find((candidate) => candidate.id === id);
  if (!invoice) throw resourceMissing({ kind: "invoice", id, param });
  return invoice;
}

function customerIdOf(invoice: Stripe.Invoice): string {
  const customer = invoice.customer;
  if (customer === null) throw new StripeApiError({ status: 500, type: "api_error", message: "Invoice has no customer." });
  return typeof customer === "string" ? customer : customer.id;
}

export interface InvoiceItemInput {
  customerId: string;
  currency: string | null;
  /** Total amount (quantity 1 unless given); or `unitAmount` × `quantity`. */
  amount: number | null;
  unitAmount: number | null;
  quantity: number | null;
  description: string | null;
  metadata: Record<string, string>;
  invoiceId: string | null;
  period: { start: number; end: number } | null;
}

/** POST /v1/invoiceitems: pending until an invoice takes it, or added to the named draft at once. */
export function createInvoiceItem(ctx: BillingEngineContext, input: InvoiceItemInput): Stripe.InvoiceItem {
  customerOf(ctx, input.customerId);
  const invoice = input.invoiceId ? invoiceOf(ctx, input.invoiceId) : null;
  if (invoice) {
    if (invoice.status !== "draft") {
      throw invalidParam({ param: "invoice", message: `You can only add invoice items to draft invoices; ${invoice.id} is ${invoice.status}.` });
    }
    if (customerIdOf(invoice) !== input.customerId) {
      throw invalidParam({ param: "invoice", message: `Invoice ${invoice.id} belongs to another customer.` });
    }
  }
  const currency = (input.currency ?? invoice?.currency ?? "").toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalidParam({ param: "currency", message: "Missing required param: currency." });
  if (invoice && invoice.currency !== currency) {
    throw invalidParam({ param: "currency", message: `The invoice item's currency (${currency}) must match the invoice's (${invoice.currency}).` });
  }
  const quantity = input.quantity ?? 1;
  if (!Number.isInteger(quantity) || quantity < 1) throw invalidParam({ param: "quantity", message: "Invalid positive integer: quantity." });
  let unitAmount: number;
  if (input.unitAmount !== null) {
    unitAmount = input.unitAmount;
  } else if (input.amount !== null) {
    if (input.amount % quantity !== 0) {
      throw invalidParam({ param: "amount", message: "With `quantity`, pass `unit_amount_decimal` (the emulator needs amount divisible by quantity)." });
    }
    unitAmount = input.amount / quantity;
  } else {
    throw invalidParam({ param: "amount", message: "You must specify one of `amount`, `unit_amount_decimal` or `price_data`." });
  }
  if (!Number.isInteger(unitAmount) || unitAmount < 0) throw invalidParam({ param: "unit_amount_decimal", message: "Invalid amount." });
  const now = nowSeconds();
  const item = buildInvoiceItem({
    customerId: input.customerId,
    currency,
    unitAmount,
    quantity,
    description: input.description,
    metadata: input.metadata,
    invoiceId: invoice?.id ?? null,
    period: input.period ?? { start: now, end: now },
  });
  ctx.state.invoiceItems[item.id] = item;
  if (invoice) attachItem({ invoice, item });
  ctx.emit({ type: "invoiceitem.created", object: item });
  return item;
}

function attachItem({ invoice, item }: { invoice: Stripe.Invoice; item: Stripe.InvoiceItem }): void {
  item.invoice = invoice.id;
  const price = buildPrice({ currency: item.currency, unitAmount: item.amount / item.quantity, productName: item.description ?? "Item", interval: null });
  addInvoiceLine({
    invoice,
    line: {
      description: item.description ?? "Item",
      amount: item.amount,
      quantity: item.quantity,
      price,
      periodStart: item.period.start,
      periodEnd: item.period.end,
      subscriptionItemId: null,
      proration: false,
      invoiceItemId: item.id,
      metadata: { ...(item.metadata ?? {}) },
    },
  });
}

export interface CreateInvoiceInput {
  customerId: string;
  currency: string | null;
  pendingInvoiceItemsBehavior: "include" | "exclude";
  autoAdvance: boolean | null;
  description: string | null;
  metadata: Record<string, string>;
  defaultPaymentMethodId: string | null;
}

/** POST /v1/invoices: a draft, taking the customer's pending invoice items when `include`. */
export function createInvoice(ctx: BillingEngineContext, input: CreateInvoiceInput): Stripe.Invoice {
  const customer = customerOf(ctx, input.customerId);
  const pending =
    input.pendingInvoiceItemsBehavior === "include"
      ? Object.values(ctx.state.invoiceItems).filter((item) => item.customer === customer.id && item.invoice === null)
      : [];
  const currency = (input.currency ?? pending[0]?.currency ?? "usd").toLowerCase();
  if (input.defaultPaymentMethodId && !ctx.state.paymentMethods[input.defaultPaymentMethodId]) {
    throw resourceMissing({ kind: "payment_method", id: input.defaultPaymentMethodId, param: "default_payment_method" });
  }
  const now = nowSeconds();
  const invoice = buildInvoice({
    customer,
    currency,
    billingReason: "manual",
    subscription: null,
    lines: [],
    description: input.description,
    metadata: input.metadata,
    periodStart: now,
    periodEnd: now,
    publicUrl: ctx.publicUrl(),
    status: "draft",
    // Stripe: auto_advance defaults to false when pending items are excluded.
    autoAdvance: input.autoAdvance ?? input.pendingInvoiceItemsBehavior === "include",
  });
  invoice.default_payment_method = input.defaultPaymentMethodId;
  for (const item of pending.filter((candidate) => candidate.currency === currency)) attachItem({ invoice, item });
  ctx.state.invoices.push(invoice);
  ctx.emit({ type: "invoice.created", object: invoice });
  return invoice;
}

/** POST /v1/invoices/:id/finalize: draft -> open (a zero total is paid at once, as on Stripe). */
export function finalizeInvoice(ctx: BillingEngineContext, id: string): Stripe.Invoice {
  const invoice = invoiceOf(ctx, id, "id");
  if (invoice.status !== "draft") {
    throw new StripeApiError({ status: 400, code: "invoice_not_editable", message: "This invoice is already finalized, you can't re-finalize a non-draft invoice." });
  }
  finalizeInvoiceObject({ invoice, customer: customerOf(ctx, customerIdOf(invoice)), publicUrl: ctx.publicUrl() });
  ctx.emit({ type: "invoice.finalized", object: invoice });
  if (invoice.amount_due === 0) {
    markInvoicePaidObject(invoice);
    paidEvents(invoice).forEach(ctx.emit);
  }
  return invoice;
}

/**
 * POST /v1/invoices/:id/pay: charges the invoice's or the customer's default card (a draft is
 * finalized first). A decline leaves the invoice open, sends `invoice.payment_failed` and answers
 * Stripe's 402 `card_declined`.
 */
export function payInvoice(
  ctx: BillingEngineContext,
  { id, paymentMethodId }: { id: string; paymentMethodId: string | null },
): Stripe.Invoice {
  const invoice = invoiceOf(ctx, id, "id");
  if (invoice.status === "paid") throw new StripeApiError({ status: 400, code: "invoice_already_paid", message: "Invoice is already paid." });
  if (invoice.status === "void") throw new StripeApiError({ status: 400, message: "This invoice has been voided and can no longer be paid." });
  if (invoice.status === "draft") finalizeInvoice(ctx, id);
  if (invoice.status === "paid") return invoice;
  const outcome = chargeInvoice(ctx, { invoice, paymentMethodId, declinable: true });
  if (outcome.decline) throw cardDeclinedError(outcome);
  // As Stripe does: paying a past-due subscription's latest invoice makes it active again.
  const subscriptionId = invoice.parent?.subscription_details?.subscription;
  const subscription = typeof subscriptionId === "string" ? ctx.state.subscriptions[subscriptionId] : undefined;
  if (subscription?.status === "past_due" && subscription.latest_invoice === invoice.id) {
    subscription.status = "active";
    ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { status: "past_due" } });
  }
  return invoice;
}

/**
 * POST /v1/invoices/:id/void: an open invoice can no longer be paid (`invoice.voided`); as on
 * Stripe, a paid or draft invoice cannot be voided (400).
 */
export function voidInvoice(ctx: BillingEngineContext, id: string): Stripe.Invoice {
  const invoice = invoiceOf(ctx, id, "id");
  if (invoice.status !== "open" && invoice.status !== "uncollectible") {
    throw new StripeApiError({ status: 400, message: `You can only void an open or uncollectible invoice. This invoice is ${invoice.status ?? "draft"}.` });
  }
  invoice.status = "void";
  invoice.amount_remaining = 0;
  invoice.status_transitions.voided_at = nowSeconds();
  ctx.emit({ type: "invoice.voided", object: invoice });
  return invoice;
}

/**
 * DELETE /v1/invoices/:id: a draft is deleted for good, with its invoice items (`invoice.deleted`);
 * as on Stripe, a finalized invoice cannot be deleted (400: void it instead).
 */
export function deleteInvoice(ctx: BillingEngineContext, id: string): Stripe.DeletedInvoice {
  const invoice = invoiceOf(ctx, id, "id");
  if (invoice.status !== "draft") {
    throw new StripeApiError({ status: 400, message: `You can only delete draft invoices. This invoice is ${invoice.status ?? "draft"}.` });
  }
  ctx.state.invoices.splice(ctx.state.invoices.indexOf(invoice), 1);
  for (const item of Object.values(ctx.state.invoiceItems)) if (item.invoice === id || (typeof item.invoice === "object" && item.invoice?.id === id)) delete ctx.state.invoiceItems[item.id];
  ctx.emit({ type: "invoice.deleted", object: invoice });
  return { id, object: "invoice", deleted: true };
}

/**
 * Charges an open invoice's amount to a card and records the attempt. Used by `pay` and by
 * subscription invoices. Returns the outcome; the invoice is paid (events sent) or left open
 * with `invoice.payment_failed`.
 */
export function chargeInvoice(
  ctx: BillingEngineContext,
  { invoice, paymentMethodId, declinable }: { invoice: Stripe.Invoice; paymentMethodId: string | null; declinable: boolean },
): PaymentOutcome {
  const customerId = customerIdOf(invoice);
  const cardId =
    paymentMethodId ??
    (typeof invoice.default_payment_method === "string" ? invoice.default_payment_method : (invoice.default_payment_method?.id ?? null)) ??
    defaultPaymentMethodId(ctx, customerId);
  if (!cardId) {
    throw new StripeApiError({
      status: 400,
      code: "missing",
      message: `Cannot charge a customer that has no active card. Customer ${customerId} has no default payment method.`,
    });
  }
  const outcome = takePayment(ctx, {
    customerId,
    amount: invoice.amount_due,
    currency: invoice.currency,
    paymentMethodId: cardId,
    description: invoice.description ?? `Invoice ${invoice.number ?? invoice.id}`,
    metadata: { ...(invoice.metadata ?? {}) },
    declinable,
  });
  const payments = (ctx.state.invoicePayments[invoice.id] ??= []);
  payments.forEach((payment) => (payment.is_default = false));
  payments.push(buildInvoicePayment({ invoice, paymentIntent: outcome.paymentIntent, paid: outcome.decline === null }));
  invoice.attempted = true;
  invoice.attempt_count += 1;
  if (outcome.decline) {
    ctx.emit({ type: "invoice.payment_failed", object: invoice });
  } else {
    markInvoicePaidObject(invoice);
    paidEvents(invoice).forEach(ctx.emit);
  }
  return outcome;
}

/** Records a payment already taken (Checkout's) as the invoice's payment. */
export function recordInvoicePayment(ctx: BillingEngineContext, { invoice, paymentIntent }: { invoice: Stripe.Invoice; paymentIntent: Stripe.PaymentIntent }): void {
  (ctx.state.invoicePayments[invoice.id] ??= []).push(buildInvoicePayment({ invoice, paymentIntent, paid: true }));
}

function paidEvents(invoice: Stripe.Invoice): EmittedEvent[] {
  return [
    { type: "invoice.paid", object: invoice },
    { type: "invoice.payment_succeeded", object: invoice },
  ];
}

/** The invoice with `payments` filled in, as `expand[]=payments` answers it. */
export function withPayments(ctx: BillingEngineContext, invoice: Stripe.Invoice): Stripe.Invoice {
  const payments = ctx.state.invoicePayments[invoice.id] ?? [];
  return { ...invoice, payments: { object: "list", data: payments, has_more: false, url: `/v1/invoice_payments?invoice=${invoice.id}` } };
}
