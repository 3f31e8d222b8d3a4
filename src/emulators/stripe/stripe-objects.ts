import { randomBytes } from "node:crypto";
import type Stripe from "stripe";

/** Builders for the Stripe API objects the emulator answers, typed with the installed SDK's types. */

export const EMULATOR_API_VERSION = "2026-10-28.endive";

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Adds calendar months the way Stripe does: the anchor's day, clamped to the month's last day. */
export function addCalendarMonths({ unixSeconds, months }: { unixSeconds: number; months: number }): number {
  const date = new Date(unixSeconds * 1000);
  const targetMonthStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1);
  const target = new Date(targetMonthStart);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  const day = Math.min(date.getUTCDate(), lastDay);
  const result = Date.UTC(
    target.getUTCFullYear(),
    target.getUTCMonth(),
    day,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  );
  return Math.floor(result / 1000);
}

export function toApiList<T>({ data, url, hasMore = false }: { data: T[]; url: string; hasMore?: boolean }): Stripe.ApiList<T> {
  return { object: "list", data, has_more: hasMore, url };
}

export function buildCustomer({
  name,
  email,
  description,
  metadata,
}: {
  name: string | null;
  email: string | null;
  description: string | null;
  metadata: Record<string, string>;
}): Stripe.Customer {
  return {
    id: newId("cus"),
    object: "customer",
    address: null,
    balance: 0,
    created: nowSeconds(),
    currency: null,
    default_source: null,
    delinquent: false,
    description,
    email,
    invoice_prefix: randomBytes(4).toString("hex").toUpperCase(),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata,
    name,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

export interface PriceInput {
  currency: string;
  unitAmount: number;
  productName: string;
  interval: "day" | "week" | "month" | "year" | null;
}

export function buildPrice({ currency, unitAmount, productName, interval }: PriceInput): Stripe.Price {
  return {
    id: newId("price"),
    object: "price",
    active: false,
    billing_scheme: "per_unit",
    created: nowSeconds(),
    currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: productName,
    product: newId("prod"),
    recurring: interval
      ? { interval, interval_count: 1, meter: null, trial_period_days: null, usage_type: "licensed" }
      : null,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: interval ? "recurring" : "one_time",
    unit_amount: unitAmount,
    unit_amount_decimal: null,
  };
}

function buildPlan(price: Stripe.Price): Stripe.Plan {
  return {
    id: price.id,
    object: "plan",
    active: true,
    amount: price.unit_amount,
    amount_decimal: null,
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? "month",
    interval_count: 1,
    livemode: false,
    metadata: {},
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}

export function buildLineItem({ price, quantity }: { price: Stripe.Price; quantity: number }): Stripe.LineItem {
  const amount = (price.unit_amount ?? 0) * quantity;
  return {
    id: newId("li"),
    object: "item",
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency: price.currency,
    description: price.nickname,
    metadata: {},
    price,
    quantity,
  };
}

export function buildCheckoutSession({
  mode,
  customerId,
  amountTotal,
  currency,
  metadata,
  clientReferenceId,
  successUrl,
  cancelUrl,
  invoiceCreation,
}: {
  mode: "payment" | "subscription";
  customerId: string | null;
  amountTotal: number;
  currency: string;
  metadata: Record<string, string>;
  clientReferenceId: string | null;
  successUrl: string | null;
  cancelUrl: string | null;
  invoiceCreation: { enabled: boolean; description: string | null; metadata: Record<string, string> } | null;
}): Stripe.Checkout.Session {
  const created = nowSeconds();
  return {
    id: newId("cs_test"),
    object: "checkout.session",
    adaptive_pricing: null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: amountTotal,
    amount_total: amountTotal,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: cancelUrl,
    client_reference_id: clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created,
    currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: customerId,
    customer_account: null,
    customer_creation: customerId ? null : "if_required",
    customer_details: null,
    customer_email: null,
    discounts: [],
    expires_at: created + 24 * 60 * 60,
    integration_identifier: null,
    invoice: null,
    invoice_creation: invoiceCreation
      ? {
          enabled: invoiceCreation.enabled,
          invoice_data: {
            account_tax_ids: null,
            custom_fields: null,
            description: invoiceCreation.description,
            footer: null,
            issuer: null,
            metadata: invoiceCreation.metadata,
            rendering_options: null,
          },
        }
      : null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata,
    mode,
    origin_context: null,
    payment_intent: null,
    payment_link: null,
    payment_method_collection: mode === "subscription" ? "always" : null,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ["card"],
    payment_status: "unpaid",
    permissions: null,
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: "open",
    submit_type: null,
    subscription: null,
    success_url: successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: "hosted_page",
    url: null,
    wallet_options: null,
  };
}

export function buildSubscription({
  customerId,
  price,
  quantity,
  metadata,
  periodStart,
  periodEnd,
}: {
  customerId: string;
  price: Stripe.Price;
  quantity: number;
  metadata: Record<string, string>;
  periodStart: number;
  periodEnd: number;
}): Stripe.Subscription {
  const id = newId("sub");
  const item: Stripe.SubscriptionItem = {
    id: newId("si"),
    object: "subscription_item",
    billing_thresholds: null,
    created: periodStart,
    current_period_end: periodEnd,
    current_period_start: periodStart,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: buildPlan(price),
    price,
    quantity,
    subscription: id,
    tax_rates: [],
  };
  return {
    id,
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: periodStart,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: "classic" },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: "charge_automatically",
    created: periodStart,
    currency: price.currency,
    customer: customerId,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: "self" } },
    items: toApiList({ data: [item], url: `/v1/subscription_items?subscription=${id}` }),
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: "off" },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: periodStart,
    status: "active",
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: "create_invoice" } },
    trial_start: null,
  };
}

export interface InvoiceLineInput {
  description: string;
  amount: number;
  quantity: number;
  price: Stripe.Price;
  periodStart: number;
  periodEnd: number;
  subscriptionItemId: string | null;
  proration: boolean;
  /** The invoice item this line bills, for lines that are not a subscription's. */
  invoiceItemId?: string | null;
  metadata?: Record<string, string>;
}

export function buildInvoice({
  customer,
  currency,
  billingReason,
  subscription,
  lines,
  description,
  metadata,
  periodStart,
  periodEnd,
  publicUrl,
  status = "paid",
  autoAdvance = false,
}: {
  customer: Stripe.Customer;
  currency: string;
  billingReason: Stripe.Invoice.BillingReason;
  subscription: Stripe.Subscription | null;
  lines: InvoiceLineInput[];
  description: string | null;
  metadata: Record<string, string>;
  periodStart: number;
  periodEnd: number;
  publicUrl: string;
  /** `paid`: finalized and paid at once (Checkout, renewals); `draft`: to be finalized and paid later. */
  status?: "draft" | "paid";
  autoAdvance?: boolean;
}): Stripe.Invoice {
  const id = newId("in");
  const invoice = buildPaidInvoice({ id, customer, currency, billingReason, subscription, lines, description, metadata, periodStart, periodEnd, publicUrl });
  if (status === "paid") return invoice;
  // A draft: no number, nothing attempted or paid yet.
  customer.next_invoice_sequence = (customer.next_invoice_sequence ?? 2) - 1;
  return {
    ...invoice,
    amount_paid: 0,
    amount_remaining: invoice.total,
    attempt_count: 0,
    attempted: false,
    auto_advance: autoAdvance,
    effective_at: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    number: null,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    webhooks_delivered_at: null,
  };
}

/** Gives a draft its number and hosted page, as finalizing does. */
export function finalizeInvoiceObject({ invoice, customer, publicUrl }: { invoice: Stripe.Invoice; customer: Stripe.Customer; publicUrl: string }): void {
  const sequence = customer.next_invoice_sequence ?? 1;
  customer.next_invoice_sequence = sequence + 1;
  const now = nowSeconds();
  const hostedUrl = `${publicUrl}/invoices/${invoice.id}`;
  invoice.number = `${customer.invoice_prefix ?? "EMU"}-${String(sequence).padStart(4, "0")}`;
  invoice.status = "open";
  invoice.effective_at = now;
  invoice.hosted_invoice_url = hostedUrl;
  invoice.invoice_pdf = `${hostedUrl}?format=pdf`;
  invoice.status_transitions = { ...invoice.status_transitions, finalized_at: now };
}

export function markInvoicePaidObject(invoice: Stripe.Invoice): void {
  const now = nowSeconds();
  invoice.status = "paid";
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.status_transitions = { ...invoice.status_transitions, paid_at: now };
  invoice.webhooks_delivered_at = now;
}

/** Appends a line to a draft and keeps its totals right. */
export function addInvoiceLine({ invoice, line }: { invoice: Stripe.Invoice; line: InvoiceLineInput }): void {
  invoice.lines.data.push(buildInvoiceLine({ invoiceId: invoice.id, currency: invoice.currency, subscription: null, line }));
  const total = invoice.lines.data.reduce((sum, item) => sum + item.amount, 0);
  Object.assign(invoice, {
    amount_due: total,
    amount_remaining: total,
    subtotal: total,
    subtotal_excluding_tax: total,
    total,
    total_excluding_tax: total,
  });
}

function buildPaidInvoice({
  id,
  customer,
  currency,
  billingReason,
  subscription,
  lines,
  description,
  metadata,
  periodStart,
  periodEnd,
  publicUrl,
}: {
  id: string;
  customer: Stripe.Customer;
  currency: string;
  billingReason: Stripe.Invoice.BillingReason;
  subscription: Stripe.Subscription | null;
  lines: InvoiceLineInput[];
  description: string | null;
  metadata: Record<string, string>;
  periodStart: number;
  periodEnd: number;
  publicUrl: string;
}): Stripe.Invoice {
  const paidAt = nowSeconds();
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  const sequence = customer.next_invoice_sequence ?? 1;
  customer.next_invoice_sequence = sequence + 1;
  const hostedUrl = `${publicUrl}/invoices/${id}`;
  return {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Group Billing (emulator)",
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: total,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: billingReason,
    collection_method: "charge_automatically",
    created: paidAt,
    currency,
    custom_fields: null,
    customer: customer.id,
    customer_account: null,
    customer_address: null,
    customer_email: customer.email,
    customer_name: customer.name ?? null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description,
    discounts: [],
    due_date: null,
    effective_at: paidAt,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: hostedUrl,
    invoice_pdf: `${hostedUrl}?format=pdf`,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: toApiList({
      data: lines.map((line) => buildInvoiceLine({ invoiceId: id, currency, subscription, line })),
      url: `/v1/invoices/${id}/lines`,
    }),
    livemode: false,
    metadata,
    next_payment_attempt: null,
    number: `${customer.invoice_prefix ?? "EMU"}-${String(sequence).padStart(4, "0")}`,
    on_behalf_of: null,
    parent: subscription
      ? {
          type: "subscription_details",
          quote_details: null,
          subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: periodEnd,
    period_start: periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: "paid",
    status_transitions: { finalized_at: paidAt, marked_uncollectible_at: null, paid_at: paidAt, voided_at: null },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: paidAt,
  };
}

function buildInvoiceLine({
  invoiceId,
  currency,
  subscription,
  line,
}: {
  invoiceId: string;
  currency: string;
  subscription: Stripe.Subscription | null;
  line: InvoiceLineInput;
}): Stripe.InvoiceLineItem {
  return {
    id: newId("il"),
    object: "line_item",
    amount: line.amount,
    currency,
    description: line.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: line.metadata ?? (subscription ? { ...subscription.metadata } : {}),
    parent: line.subscriptionItemId
      ? {
          type: "subscription_item_details",
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: line.proration,
            proration_details: { credited_items: null },
            subscription: subscription?.id ?? null,
            subscription_item: line.subscriptionItemId,
          },
        }
      : {
          type: "invoice_item_details",
          subscription_item_details: null,
          invoice_item_details: {
            invoice_item: line.invoiceItemId ?? newId("ii"),
            proration: false,
            proration_details: { credited_items: null },
            subscription: null,
          },
        },
    period: { start: line.periodStart, end: line.periodEnd },
    pretax_credit_amounts: [],
    pricing: {
      type: "price_details",
      price_details: { price: line.price.id, product: typeof line.price.product === "string" ? line.price.product : line.price.product.id },
      unit_amount_decimal: null,
    },
    quantity: line.quantity,
    quantity_decimal: null,
    subscription: subscription?.id ?? null,
    subtotal: line.amount,
    taxes: [],
  };
}

/** The event types the emulator sends. */
export type EmulatedEventType =
  | "billing_portal.session.created"
  | "charge.failed"
  | "charge.refunded"
  | "charge.succeeded"
  | "checkout.session.completed"
  | "checkout.session.expired"
  | "customer.created"
  | "customer.deleted"
  | "customer.updated"
  | "customer.subscription.created"
  | "customer.subscription.deleted"
  | "customer.subscription.updated"
  | "invoice.created"
  | "invoice.deleted"
  | "invoice.finalized"
  | "invoice.paid"
  | "invoice.payment_failed"
  | "invoice.payment_succeeded"
  | "invoice.voided"
  | "invoiceitem.created"
  | "payment_intent.created"
  | "payment_intent.payment_failed"
  | "payment_intent.succeeded"
  | "payment_method.attached"
  | "refund.created"
  | "subscription_schedule.created"
  | "subscription_schedule.released"
  | "subscription_schedule.updated";

type EventObject<T extends EmulatedEventType> = Extract<Stripe.Event, { type: T }>["data"]["object"];

/** An event as the engine emits it: its type, the object it carries and what changed. */
export type EmittedEvent = {
  [T in EmulatedEventType]: { type: T; object: EventObject<T>; previousAttributes?: Partial<EventObject<T>> };
}[EmulatedEventType];

export function buildEvent({
  emitted,
  pendingWebhooks,
  idempotencyKey,
}: {
  emitted: EmittedEvent;
  pendingWebhooks: number;
  idempotencyKey: string | null;
}): Stripe.Event {
  const data =
    "previousAttributes" in emitted && emitted.previousAttributes
      ? { object: structuredClone(emitted.object), previous_attributes: emitted.previousAttributes }
      : { object: structuredClone(emitted.object) };
  // The union member is chosen by `type`; TypeScript cannot correlate the two unions on its own.
  return {
    id: newId("evt"),
    object: "event",
    api_version: EMULATOR_API_VERSION,
    created: nowSeconds(),
    data,
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: idempotencyKey ? newId("req") : null, idempotency_key: idempotencyKey },
    type: emitted.type,
  } as Stripe.Event;
}
