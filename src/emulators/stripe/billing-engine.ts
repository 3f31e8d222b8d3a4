import { randomBytes } from "node:crypto";
import type Stripe from "stripe";
import { formatMoney } from "../shared/html.js";
import {
  invalidParam,
  resourceMissing,
  StripeApiError,
  type CheckoutRecord,
  type StripeEmulatorState,
} from "./emulator-state.js";
import {
  addCalendarMonths,
  buildCheckoutSession,
  buildCustomer,
  buildInvoice,
  buildLineItem,
  buildPrice,
  buildSubscription,
  nowSeconds,
  type EmittedEvent,
  type InvoiceLineInput,
} from "./stripe-objects.js";
import { chargeInvoice, finalizeInvoice, recordInvoicePayment } from "./invoicing-engine.js";
import { saveCheckoutCard, takePayment } from "./payments-engine.js";
import { applyScheduleAtPeriodEnd, dropSchedule } from "./portal-engine.js";

/**
 * The emulator's business rules: what Stripe does to customers, sessions, subscriptions and
 * invoices. Synchronous and free of HTTP; events go out through `emit`.
 */
export interface BillingEngineContext {
  state: StripeEmulatorState;
  publicUrl: () => string;
  emit: (event: EmittedEvent) => void;
}

export interface CheckoutLineInput {
  currency: string;
  unitAmount: number;
  productName: string;
  interval: "day" | "week" | "month" | "year" | null;
  quantity: number;
}

export interface CreateCheckoutInput {
  mode: "payment" | "subscription";
  customerId: string | null;
  lines: CheckoutLineInput[];
  metadata: Record<string, string>;
  clientReferenceId: string | null;
  successUrl: string | null;
  cancelUrl: string | null;
  subscriptionMetadata: Record<string, string>;
  invoiceCreation: { enabled: boolean; description: string | null; metadata: Record<string, string> } | null;
}

export type ProrationBehavior = "always_invoice" | "create_prorations" | "none";

export function createCustomer(
  ctx: BillingEngineContext,
  input: { name: string | null; email: string | null; description: string | null; metadata: Record<string, string> },
): Stripe.Customer {
  const customer = buildCustomer(input);
  ctx.state.customers[customer.id] = customer;
  ctx.emit({ type: "customer.created", object: customer });
  return customer;
}

/** POST /v1/customers/:id: name, metadata and the default card for invoices. */
export function updateCustomer(
  ctx: BillingEngineContext,
  {
    id,
    name,
    defaultPaymentMethodId,
    metadata,
  }: { id: string; name: string | undefined; defaultPaymentMethodId: string | undefined; metadata: Record<string, string> | undefined },
): Stripe.Customer {
  const customer = findCustomer(ctx, id);
  const previous: Partial<Stripe.Customer> = {};
  if (name !== undefined && name !== customer.name) {
    previous.name = customer.name;
    customer.name = name;
  }
  if (defaultPaymentMethodId !== undefined) {
    const method = ctx.state.paymentMethods[defaultPaymentMethodId];
    if (!method) throw resourceMissing({ kind: "PaymentMethod", id: defaultPaymentMethodId, param: "invoice_settings[default_payment_method]" });
    if (method.customer !== customer.id) {
      throw invalidParam({
        param: "invoice_settings[default_payment_method]",
        message: `The customer does not have a payment method with the ID ${defaultPaymentMethodId}. The payment method must be attached to the customer.`,
      });
    }
    previous.invoice_settings = structuredClone(customer.invoice_settings);
    customer.invoice_settings = { ...customer.invoice_settings, default_payment_method: defaultPaymentMethodId };
  }
  if (metadata !== undefined) {
    previous.metadata = { ...customer.metadata };
    customer.metadata = { ...customer.metadata, ...metadata };
  }
  if (Object.keys(previous).length > 0) ctx.emit({ type: "customer.updated", object: customer, previousAttributes: previous });
  return customer;
}

/**
 * DELETE /v1/customers/:id: the customer is gone for good, and, as on Stripe, its subscriptions end at
 * once; anything naming it afterwards is refused ("No such customer"), retrieving it answers the stub.
 */
export function deleteCustomer(ctx: BillingEngineContext, id: string): Stripe.DeletedCustomer {
  const customer = findCustomer(ctx, id);
  for (const subscription of Object.values(ctx.state.subscriptions)) {
    if (customerIdOf(subscription) === id && subscription.status !== "canceled") cancelSubscription(ctx, subscription.id);
  }
  delete ctx.state.customers[id];
  const deleted: Stripe.DeletedCustomer = { id, object: "customer", deleted: true };
  ctx.state.deletedCustomers[id] = deleted;
  ctx.emit({ type: "customer.deleted", object: customer });
  return deleted;
}

export function findCustomer(ctx: BillingEngineContext, id: string): Stripe.Customer {
  const customer = ctx.state.customers[id];
  if (!customer) throw resourceMissing({ kind: "customer", id });
  return customer;
}

export function findCheckout(ctx: BillingEngineContext, id: string): CheckoutRecord {
  const record = ctx.state.checkoutSessions[id];
  if (!record) throw resourceMissing({ kind: "checkout.session", id, param: "session" });
  return record;
}

export function findSubscription(ctx: BillingEngineContext, id: string): Stripe.Subscription {
  const subscription = ctx.state.subscriptions[id];
  if (!subscription) throw resourceMissing({ kind: "subscription", id });
  return subscription;
}

export function findInvoice(ctx: BillingEngineContext, id: string): Stripe.Invoice {
  const invoice = ctx.state.invoices.find((candidate) => candidate.id === id);
  if (!invoice) throw resourceMissing({ kind: "invoice", id });
  return invoice;
}

export function createCheckoutSession(ctx: BillingEngineContext, input: CreateCheckoutInput): Stripe.Checkout.Session {
  validateCheckoutInput(ctx, input);
  const lineItems = input.lines.map((line) =>
    buildLineItem({ price: buildPrice(line), quantity: line.quantity }),
  );
  const amountTotal = lineItems.reduce((sum, item) => sum + item.amount_total, 0);
  const session = buildCheckoutSession({
    mode: input.mode,
    customerId: input.customerId,
    amountTotal,
    currency: input.lines[0]?.currency ?? "usd",
    metadata: input.metadata,
    clientReferenceId: input.clientReferenceId,
    successUrl: input.successUrl,
    cancelUrl: input.cancelUrl,
    invoiceCreation: input.mode === "payment" ? (input.invoiceCreation ?? { enabled: false, description: null, metadata: {} }) : null,
  });
  session.url = `${ctx.publicUrl()}/checkout/${session.id}`;
  if (session.success_url) session.success_url = session.success_url.replaceAll("{CHECKOUT_SESSION_ID}", session.id);
  if (session.cancel_url) session.cancel_url = session.cancel_url.replaceAll("{CHECKOUT_SESSION_ID}", session.id);
  ctx.state.checkoutSessions[session.id] = {
    session,
    lineItems,
    subscriptionMetadata: input.subscriptionMetadata,
    formToken: randomBytes(24).toString("base64url"),
  };
  return session;
}

function validateCheckoutInput(ctx: BillingEngineContext, input: CreateCheckoutInput): void {
  if (input.customerId && !ctx.state.customers[input.customerId]) throw resourceMissing({ kind: "customer", id: input.customerId, param: "customer" });
  if (input.lines.length === 0) throw invalidParam({ param: "line_items", message: "Missing required param: line_items." });
  input.lines.forEach((line, index) => {
    if (!Number.isInteger(line.unitAmount) || line.unitAmount < 0) {
      throw invalidParam({ param: `line_items[${index}][price_data][unit_amount]`, message: "Invalid integer: unit_amount." });
    }
    if (!Number.isInteger(line.quantity) || line.quantity < 1) {
      throw invalidParam({ param: `line_items[${index}][quantity]`, message: "Invalid integer: quantity." });
    }
    if (input.mode === "subscription" && line.interval === null) {
      throw invalidParam({
        param: `line_items[${index}][price_data][recurring]`,
        message: "You must specify at least one recurring price in `subscription` mode when using prices.",
      });
    }
    if (input.mode === "payment" && line.interval !== null) {
      throw invalidParam({
        param: `line_items[${index}][price_data][recurring]`,
        message: "You specified `payment` mode but passed a recurring price.",
      });
    }
  });
  if (input.mode === "subscription" && input.lines.length > 1) {
    throw invalidParam({ param: "line_items", message: "The emulator supports one line item per subscription." });
  }
}

/** POST /v1/checkout/sessions/:id/expire: an open session can no longer be paid. */
export function expireCheckoutSession(ctx: BillingEngineContext, id: string): Stripe.Checkout.Session {
  const { session } = findCheckout(ctx, id);
  if (session.status !== "open") {
    throw new StripeApiError({
      status: 400,
      message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of \`${session.status}\`.`,
    });
  }
  session.status = "expired";
  session.url = null;
  ctx.emit({ type: "checkout.session.expired", object: session });
  return session;
}

/** What pressing "Pay" on the hosted page does. Paying a completed session again changes nothing. */
export function completeCheckoutSession(ctx: BillingEngineContext, id: string): Stripe.Checkout.Session {
  const record = findCheckout(ctx, id);
  const { session } = record;
  if (session.status === "complete") return session;
  if (session.status === "expired") {
    throw new StripeApiError({ status: 400, message: "This Checkout Session has expired.", code: "checkout_session_expired" });
  }
  if (session.mode === "subscription") completeSubscriptionCheckout(ctx, record);
  else completePaymentCheckout(ctx, record);
  return session;
}

function ensureCustomer(ctx: BillingEngineContext, session: Stripe.Checkout.Session): Stripe.Customer {
  if (typeof session.customer === "string") return findCustomer(ctx, session.customer);
  const customer = createCustomer(ctx, { name: null, email: null, description: null, metadata: {} });
  session.customer = customer.id;
  return customer;
}

function markSessionPaid(session: Stripe.Checkout.Session): void {
  session.status = "complete";
  session.payment_status = "paid";
}

function completePaymentCheckout(ctx: BillingEngineContext, record: CheckoutRecord): void {
  const { session } = record;
  const invoiceCreation = session.invoice_creation;
  const invoicesEnabled = invoiceCreation?.enabled === true;
  const customer = invoicesEnabled || typeof session.customer === "string" ? ensureCustomer(ctx, session) : null;
  const card = customer ? saveCheckoutCard(ctx, customer.id) : null;
  const payment = takePayment(ctx, {
    customerId: customer?.id ?? null,
    amount: session.amount_total ?? 0,
    currency: session.currency ?? "usd",
    paymentMethodId: card?.id ?? null,
    description: null,
    metadata: { ...(session.metadata ?? {}) },
    declinable: false,
  });
  session.payment_intent = payment.paymentIntent.id;
  markSessionPaid(session);
  const invoiceEvents: EmittedEvent[] = [];
  if (invoicesEnabled && customer) {
    const now = nowSeconds();
    const invoice = buildInvoice({
      customer,
      currency: session.currency ?? "usd",
      billingReason: "manual",
      subscription: null,
      lines: record.lineItems.map((item) => toInvoiceLine({ item, periodStart: now, periodEnd: now })),
      description: invoiceCreation.invoice_data.description,
      metadata: { ...(invoiceCreation.invoice_data.metadata ?? {}) },
      periodStart: now,
      periodEnd: now,
      publicUrl: ctx.publicUrl(),
    });
    ctx.state.invoices.push(invoice);
    recordInvoicePayment(ctx, { invoice, paymentIntent: payment.paymentIntent });
    session.invoice = invoice.id;
    invoiceEvents.push(...paidInvoiceEvents(invoice));
  }
  ctx.emit({ type: "checkout.session.completed", object: session });
  invoiceEvents.forEach(ctx.emit);
}

function completeSubscriptionCheckout(ctx: BillingEngineContext, record: CheckoutRecord): void {
  const { session } = record;
  const lineItem = record.lineItems[0];
  if (!lineItem?.price) throw new StripeApiError({ status: 400, message: "Checkout Session has no line items." });
  const customer = ensureCustomer(ctx, session);
  const card = saveCheckoutCard(ctx, customer.id);
  const periodStart = nowSeconds();
  const periodEnd = addCalendarMonths({ unixSeconds: periodStart, months: 1 });
  const subscription = buildSubscription({
    customerId: customer.id,
    price: lineItem.price,
    quantity: lineItem.quantity ?? 1,
    metadata: { ...record.subscriptionMetadata },
    periodStart,
    periodEnd,
  });
  subscription.default_payment_method = card.id;
  ctx.state.subscriptions[subscription.id] = subscription;
  ctx.emit({ type: "customer.subscription.created", object: subscription });
  const { invoice } = createSubscriptionInvoice(ctx, {
    subscription,
    customer,
    billingReason: "subscription_create",
    invoicePeriod: { start: periodStart, end: periodStart },
    declinable: false,
  });
  session.subscription = subscription.id;
  session.invoice = invoice.id;
  markSessionPaid(session);
  ctx.emit({ type: "checkout.session.completed", object: session });
}

function toInvoiceLine({
  item,
  periodStart,
  periodEnd,
}: {
  item: Stripe.LineItem;
  periodStart: number;
  periodEnd: number;
}): InvoiceLineInput {
  if (!item.price) throw new StripeApiError({ status: 400, message: "Line item has no price." });
  const quantity = item.quantity ?? 1;
  const unit = formatMoney({ amount: item.price.unit_amount ?? 0, currency: item.price.currency });
  return {
    // As Stripe words an invoice line: "5 × Product (at $10.00)".
    description: `${quantity} × ${item.description ?? "Item"} (at ${unit})`,
    amount: item.amount_total,
    quantity: item.quantity ?? 1,
    price: item.price,
    periodStart,
    periodEnd,
    subscriptionItemId: null,
    proration: false,
  };
}

function subscriptionItemOf(subscription: Stripe.Subscription): Stripe.SubscriptionItem {
  const item = subscription.items.data[0];
  if (!item) throw new StripeApiError({ status: 500, type: "api_error", message: "Subscription has no items." });
  return item;
}

function describeSubscriptionLine(item: Stripe.SubscriptionItem): string {
  const unit = formatMoney({ amount: item.price.unit_amount ?? 0, currency: item.price.currency });
  const interval = item.price.recurring?.interval ?? "month";
  return `${item.quantity ?? 1} × ${item.price.nickname ?? "Subscription"} (at ${unit} / ${interval})`;
}

/**
 * An invoice for the subscription's current period at its current quantity, finalized and charged
 * to the subscription's (or customer's) default card at once.
 */
function createSubscriptionInvoice(
  ctx: BillingEngineContext,
  {
    subscription,
    customer,
    billingReason,
    invoicePeriod,
    declinable,
  }: {
    subscription: Stripe.Subscription;
    customer: Stripe.Customer;
    billingReason: Stripe.Invoice.BillingReason;
    invoicePeriod: { start: number; end: number };
    declinable: boolean;
  },
): { invoice: Stripe.Invoice; paid: boolean } {
  const item = subscriptionItemOf(subscription);
  const quantity = item.quantity ?? 1;
  const invoice = buildInvoice({
    customer,
    currency: subscription.currency,
    billingReason,
    subscription,
    lines: [
      {
        description: describeSubscriptionLine(item),
        amount: quantity * (item.price.unit_amount ?? 0),
        quantity,
        price: item.price,
        periodStart: item.current_period_start,
        periodEnd: item.current_period_end,
        subscriptionItemId: item.id,
        proration: false,
      },
    ],
    description: null,
    metadata: {},
    periodStart: invoicePeriod.start,
    periodEnd: invoicePeriod.end,
    publicUrl: ctx.publicUrl(),
    status: "draft",
  });
  invoice.auto_advance = true;
  ctx.state.invoices.push(invoice);
  subscription.latest_invoice = invoice.id;
  ctx.emit({ type: "invoice.created", object: invoice });
  finalizeInvoice(ctx, invoice.id);
  const outcome = chargeInvoice(ctx, {
    invoice,
    paymentMethodId: typeof subscription.default_payment_method === "string" ? subscription.default_payment_method : null,
    declinable,
  });
  return { invoice, paid: outcome.decline === null };
}

function paidInvoiceEvents(invoice: Stripe.Invoice): EmittedEvent[] {
  return [
    { type: "invoice.created", object: invoice },
    { type: "invoice.finalized", object: invoice },
    { type: "invoice.paid", object: invoice },
    { type: "invoice.payment_succeeded", object: invoice },
  ];
}

export interface UpdateSubscriptionInput {
  item: { id: string | undefined; quantity: number | undefined } | null;
  prorationBehavior: ProrationBehavior;
  cancelAtPeriodEnd: boolean | undefined;
  metadata: Record<string, string> | undefined;
}

export function updateSubscription(
  ctx: BillingEngineContext,
  { id, input }: { id: string; input: UpdateSubscriptionInput },
): Stripe.Subscription {
  const subscription = findSubscription(ctx, id);
  if (subscription.status === "canceled") {
    throw new StripeApiError({
      status: 400,
      message: "A canceled subscription can only update its cancellation_details and metadata.",
    });
  }
  const previous = structuredClone(subscription);
  const previousAttributes: Partial<Stripe.Subscription> = {};
  if (input.item) {
    const changedQuantity = applyQuantityChange(ctx, { subscription, input: input.item, prorationBehavior: input.prorationBehavior });
    if (changedQuantity) previousAttributes.items = previous.items;
  }
  if (input.cancelAtPeriodEnd !== undefined && input.cancelAtPeriodEnd !== subscription.cancel_at_period_end) {
    if (input.cancelAtPeriodEnd) dropSchedule(ctx, subscription);
    previousAttributes.cancel_at_period_end = previous.cancel_at_period_end;
    previousAttributes.cancel_at = previous.cancel_at;
    subscription.cancel_at_period_end = input.cancelAtPeriodEnd;
    subscription.cancel_at = input.cancelAtPeriodEnd ? subscriptionItemOf(subscription).current_period_end : null;
    subscription.cancellation_details = {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: input.cancelAtPeriodEnd ? "cancellation_requested" : null,
    };
  }
  if (input.metadata) {
    previousAttributes.metadata = previous.metadata;
    subscription.metadata = { ...subscription.metadata, ...input.metadata };
  }
  if (Object.keys(previousAttributes).length > 0) {
    ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes });
  }
  return subscription;
}

/** Returns true when the quantity changed. `always_invoice` bills the prorated difference at once. */
function applyQuantityChange(
  ctx: BillingEngineContext,
  {
    subscription,
    input,
    prorationBehavior,
  }: {
    subscription: Stripe.Subscription;
    input: { id: string | undefined; quantity: number | undefined };
    prorationBehavior: ProrationBehavior;
  },
): boolean {
  const item = subscriptionItemOf(subscription);
  if (input.id !== undefined && input.id !== item.id) throw resourceMissing({ kind: "subscription_item", id: input.id, param: "items[0][id]" });
  if (input.quantity === undefined) return false;
  if (!Number.isInteger(input.quantity) || input.quantity < 0) {
    throw invalidParam({ param: "items[0][quantity]", message: "Invalid integer: quantity." });
  }
  const oldQuantity = item.quantity ?? 1;
  if (input.quantity === oldQuantity) return false;
  item.quantity = input.quantity;
  if (prorationBehavior === "always_invoice" && input.quantity > oldQuantity) {
    createProrationInvoice(ctx, { subscription, item, oldQuantity });
  }
  return true;
}

function createProrationInvoice(
  ctx: BillingEngineContext,
  { subscription, item, oldQuantity }: { subscription: Stripe.Subscription; item: Stripe.SubscriptionItem; oldQuantity: number },
): void {
  const now = nowSeconds();
  const periodLength = Math.max(1, item.current_period_end - item.current_period_start);
  const remainingShare = Math.min(1, Math.max(0, (item.current_period_end - now) / periodLength));
  const unitAmount = item.price.unit_amount ?? 0;
  const newQuantity = item.quantity ?? 1;
  const name = item.price.nickname ?? "Subscription";
  const date = new Date(now * 1000).toISOString().slice(0, 10);
  const line = (quantity: number, sign: 1 | -1, label: string): InvoiceLineInput => ({
    description: `${label} ${quantity} × ${name} after ${date}`,
    amount: sign * Math.round(quantity * unitAmount * remainingShare),
    quantity,
    price: item.price,
    periodStart: now,
    periodEnd: item.current_period_end,
    subscriptionItemId: item.id,
    proration: true,
  });
  const invoice = buildInvoice({
    customer: findCustomer(ctx, customerIdOf(subscription)),
    currency: subscription.currency,
    billingReason: "subscription_update",
    subscription,
    lines: [line(newQuantity, 1, "Remaining time on"), line(oldQuantity, -1, "Unused time on")],
    description: null,
    metadata: {},
    periodStart: now,
    periodEnd: now,
    publicUrl: ctx.publicUrl(),
    status: "draft",
  });
  ctx.state.invoices.push(invoice);
  subscription.latest_invoice = invoice.id;
  ctx.emit({ type: "invoice.created", object: invoice });
  finalizeInvoice(ctx, invoice.id);
  chargeInvoice(ctx, {
    invoice,
    paymentMethodId: typeof subscription.default_payment_method === "string" ? subscription.default_payment_method : null,
    declinable: true,
  });
}

/** DELETE /v1/subscriptions/:id — cancels at once; cancelling twice changes nothing. */
export function cancelSubscription(ctx: BillingEngineContext, id: string): Stripe.Subscription {
  const subscription = findSubscription(ctx, id);
  if (subscription.status === "canceled") return subscription;
  dropSchedule(ctx, subscription);
  endSubscription(ctx, { subscription, reason: "cancellation_requested" });
  return subscription;
}

function endSubscription(
  ctx: BillingEngineContext,
  { subscription, reason }: { subscription: Stripe.Subscription; reason: "cancellation_requested" },
): void {
  const now = nowSeconds();
  subscription.status = "canceled";
  subscription.canceled_at ??= now;
  subscription.ended_at = now;
  subscription.cancellation_details = { comment: null, feedback: null, feedback_option: null, reason };
  ctx.emit({ type: "customer.subscription.deleted", object: subscription });
}

/**
 * Moves a subscription to its next period, like a test clock: renews and bills it, or ends it
 * when it was set to cancel at the period end. A canceled subscription stays as it is.
 */
export function advanceSubscription(ctx: BillingEngineContext, id: string): Stripe.Subscription {
  const subscription = findSubscription(ctx, id);
  if (subscription.status === "canceled") return subscription;
  if (subscription.cancel_at_period_end) {
    endSubscription(ctx, { subscription, reason: "cancellation_requested" });
    return subscription;
  }
  const item = subscriptionItemOf(subscription);
  const previous = structuredClone(subscription);
  // A quantity lowered "from the next period" takes effect now, before the renewal is billed.
  applyScheduleAtPeriodEnd(ctx, subscription);
  const lastPeriod = { start: item.current_period_start, end: item.current_period_end };
  item.current_period_start = lastPeriod.end;
  item.current_period_end = nextPeriodEnd({ anchor: subscription.billing_cycle_anchor, after: lastPeriod.end });
  ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { items: previous.items } });
  const { paid } = createSubscriptionInvoice(ctx, {
    subscription,
    customer: findCustomer(ctx, customerIdOf(subscription)),
    billingReason: "subscription_cycle",
    invoicePeriod: lastPeriod,
    declinable: true,
  });
  if (!paid && subscription.status !== "past_due") {
    // The renewal's card was declined: Stripe keeps the invoice open and the subscription past due.
    const before = subscription.status;
    subscription.status = "past_due";
    ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { status: before } });
  } else if (paid && subscription.status === "past_due") {
    subscription.status = "active";
    ctx.emit({ type: "customer.subscription.updated", object: subscription, previousAttributes: { status: "past_due" } });
  }
  return subscription;
}

function nextPeriodEnd({ anchor, after }: { anchor: number; after: number }): number {
  let months = 1;
  while (addCalendarMonths({ unixSeconds: anchor, months }) <= after) months += 1;
  return addCalendarMonths({ unixSeconds: anchor, months });
}

function customerIdOf(subscription: Stripe.Subscription): string {
  return typeof subscription.customer === "string" ? subscription.customer : subscription.customer.id;
}

export interface HistoricalInvoiceInput {
  customerId: string;
  description: string;
  unitAmount: number;
  quantity: number;
  currency: string;
  /** When it was paid (seconds); also its service period start. */
  paidAt: number;
  periodEnd: number;
  /** "month": a plan's invoice (its line has a recurring price), otherwise a one-time purchase. */
  interval?: "month" | null;
  /** Importing the same key again returns the first invoice (an interrupted import resumes). */
  key?: string;
  metadata?: Record<string, string>;
}

/**
 * A paid invoice from the past, for demo data and benchmarks: history only, so no events are
 * emitted (Stripe would have sent them back then).
 */
export function importPaidInvoice(ctx: BillingEngineContext, input: HistoricalInvoiceInput): Stripe.Invoice {
  const customer = findCustomer(ctx, input.customerId);
  const imported = input.key ? ctx.state.invoices.find((i) => i.metadata?.importKey === input.key) : undefined;
  if (imported) return imported;
  const price = buildPrice({ currency: input.currency, unitAmount: input.unitAmount, productName: input.description, interval: input.interval ?? null });
  const invoice = buildInvoice({
    customer,
    currency: input.currency,
    billingReason: "manual",
    subscription: null,
    lines: [
      {
        description: input.description,
        amount: input.unitAmount * input.quantity,
        quantity: input.quantity,
        price,
        periodStart: input.paidAt,
        periodEnd: input.periodEnd,
        subscriptionItemId: null,
        proration: false,
      },
    ],
    description: input.description,
    metadata: { ...(input.metadata ?? {}), ...(input.key ? { importKey: input.key } : {}) },
    periodStart: input.paidAt,
    periodEnd: input.paidAt,
    publicUrl: ctx.publicUrl(),
  });
  invoice.created = input.paidAt;
  invoice.effective_at = input.paidAt;
  invoice.status_transitions = { ...invoice.status_transitions, finalized_at: input.paidAt, paid_at: input.paidAt };
  invoice.webhooks_delivered_at = input.paidAt;
  ctx.state.invoices.push(invoice);
  return invoice;
}
