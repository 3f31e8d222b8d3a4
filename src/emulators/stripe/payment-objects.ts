import type Stripe from "stripe";
import { newId, nowSeconds } from "./stripe-objects.js";

/**
 * Builders for the payment side of the emulator (cards, PaymentIntents, charges, refunds,
 * invoice items and invoice payments), typed with the installed SDK's types.
 */

/** On the wire a Stripe decimal is a string; the SDK's type is its parsed class. */
function wireDecimal(value: number): Stripe.Decimal {
  return String(value) as unknown as Stripe.Decimal;
}

/** The card Checkout saves: Stripe's test Visa 4242. */
export function buildCardPaymentMethod({ customerId }: { customerId: string }): Stripe.PaymentMethod {
  return {
    id: newId("pm"),
    object: "payment_method",
    allow_redisplay: "always",
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: "visa",
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
      country: "US",
      display_brand: "visa",
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: "emulator4242",
      funding: "credit",
      generated_from: null,
      last4: "4242",
      networks: { available: ["visa"], preferred: null },
      regulated_status: "unregulated",
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: nowSeconds(),
    customer: customerId,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: "card",
  };
}

export interface DeclineDetails {
  code: "card_declined";
  declineCode: string;
  message: string;
}

export const GENERIC_DECLINE: DeclineDetails = {
  code: "card_declined",
  declineCode: "generic_decline",
  message: "Your card was declined.",
};

export function buildPaymentIntent({
  amount,
  currency,
  customerId,
  paymentMethodId,
  description,
  metadata,
}: {
  amount: number;
  currency: string;
  customerId: string | null;
  paymentMethodId: string | null;
  description: string | null;
  metadata: Record<string, string>;
}): Stripe.PaymentIntent {
  const id = newId("pi");
  return {
    id,
    object: "payment_intent",
    allowed_payment_method_types: null,
    amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: `${id}_secret_${newId("s").slice(2)}`,
    confirmation_method: "automatic",
    created: nowSeconds(),
    currency,
    customer: customerId,
    customer_account: null,
    description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: paymentMethodId,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" } },
    payment_method_types: ["card"],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: "requires_confirmation",
    transfer_data: null,
    transfer_group: null,
  };
}

export function buildCharge({
  paymentIntent,
  paymentMethod,
  decline,
}: {
  paymentIntent: Stripe.PaymentIntent;
  paymentMethod: Stripe.PaymentMethod | null;
  decline: DeclineDetails | null;
}): Stripe.Charge {
  const succeeded = decline === null;
  return {
    id: newId("ch"),
    object: "charge",
    amount: paymentIntent.amount,
    amount_captured: succeeded ? paymentIntent.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: succeeded ? newId("txn") : null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: "GROUP BILLING",
    captured: succeeded,
    created: nowSeconds(),
    currency: paymentIntent.currency,
    customer: typeof paymentIntent.customer === "string" ? paymentIntent.customer : (paymentIntent.customer?.id ?? null),
    description: paymentIntent.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: { ...paymentIntent.metadata },
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: succeeded ? "approved_by_network" : "declined_by_network",
      reason: decline?.declineCode ?? null,
      risk_level: "normal",
      seller_message: succeeded ? "Payment complete." : "The bank did not return any further details with this decline.",
      type: succeeded ? "authorized" : "issuer_declined",
    },
    paid: succeeded,
    payment_intent: paymentIntent.id,
    payment_method: paymentMethod?.id ?? null,
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: succeeded ? "succeeded" : "failed",
    transfer_data: null,
    transfer_group: null,
  };
}

export function buildRefund({
  charge,
  amount,
  reason,
  metadata,
}: {
  charge: Stripe.Charge;
  amount: number;
  reason: Stripe.Refund.Reason | null;
  metadata: Record<string, string>;
}): Stripe.Refund {
  return {
    id: newId("re"),
    object: "refund",
    amount,
    balance_transaction: newId("txn"),
    charge: charge.id,
    created: nowSeconds(),
    currency: charge.currency,
    customer: typeof charge.customer === "string" ? charge.customer : (charge.customer?.id ?? null),
    customer_account: null,
    metadata,
    payment_intent: typeof charge.payment_intent === "string" ? charge.payment_intent : (charge.payment_intent?.id ?? null),
    payment_method: charge.payment_method,
    reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: "succeeded",
    transfer_reversal: null,
  };
}

export function buildInvoiceItem({
  customerId,
  currency,
  unitAmount,
  quantity,
  description,
  metadata,
  invoiceId,
  period,
}: {
  customerId: string;
  currency: string;
  unitAmount: number;
  quantity: number;
  description: string | null;
  metadata: Record<string, string>;
  invoiceId: string | null;
  period: { start: number; end: number };
}): Stripe.InvoiceItem {
  return {
    id: newId("ii"),
    object: "invoiceitem",
    amount: unitAmount * quantity,
    currency,
    customer: customerId,
    customer_account: null,
    date: nowSeconds(),
    description,
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata,
    net_amount: unitAmount * quantity,
    parent: null,
    period,
    pricing: { type: "price_details", unit_amount_decimal: wireDecimal(unitAmount) },
    proration: false,
    quantity,
    quantity_decimal: wireDecimal(quantity),
    tax_rates: [],
    test_clock: null,
  };
}

export function buildInvoicePayment({
  invoice,
  paymentIntent,
  paid,
}: {
  invoice: Stripe.Invoice;
  paymentIntent: Stripe.PaymentIntent;
  paid: boolean;
}): Stripe.InvoicePayment {
  const now = nowSeconds();
  return {
    id: newId("inpay"),
    object: "invoice_payment",
    amount_paid: paid ? paymentIntent.amount : null,
    amount_requested: paymentIntent.amount,
    created: now,
    currency: paymentIntent.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { type: "payment_intent", payment_intent: paymentIntent.id },
    status: paid ? "paid" : "open",
    status_transitions: { canceled_at: null, paid_at: paid ? now : null },
  };
}
