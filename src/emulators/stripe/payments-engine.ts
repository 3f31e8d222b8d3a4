import type Stripe from "stripe";
import type { BillingEngineContext } from "./billing-engine.js";
import { invalidParam, resourceMissing, StripeApiError } from "./emulator-state.js";
import {
  buildCardPaymentMethod,
  buildCharge,
  buildPaymentIntent,
  buildRefund,
  GENERIC_DECLINE,
  type DeclineDetails,
} from "./payment-objects.js";

/**
 * Cards, PaymentIntents, charges and refunds. Every payment the emulator takes (Checkout, an
 * invoice, an off-session PaymentIntent) goes through `takePayment`, so a decline set with
 * `declineNextCharges` applies to all of them alike.
 */

function customerOf(ctx: BillingEngineContext, id: string): Stripe.Customer {
  const customer = ctx.state.customers[id];
  if (!customer) throw resourceMissing({ kind: "customer", id, param: "customer" });
  return customer;
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : value.id;
}

export function defaultPaymentMethodId(ctx: BillingEngineContext, customerId: string): string | null {
  return idOf(customerOf(ctx, customerId).invoice_settings.default_payment_method);
}

/**
 * What Checkout does with the card the customer typed: attach it to the customer and make it the
 * default for invoices (`invoice_settings.default_payment_method`), unless the customer already
 * has a default card, which is then reused. (Real Stripe attaches the card; making it the
 * invoice default is a step the integration takes, so the emulator takes it for the integration.)
 */
export function saveCheckoutCard(ctx: BillingEngineContext, customerId: string): Stripe.PaymentMethod {
  const existing = defaultPaymentMethodId(ctx, customerId);
  const saved = existing ? ctx.state.paymentMethods[existing] : undefined;
  if (saved) return saved;
  const customer = customerOf(ctx, customerId);
  const paymentMethod = buildCardPaymentMethod({ customerId });
  ctx.state.paymentMethods[paymentMethod.id] = paymentMethod;
  ctx.emit({ type: "payment_method.attached", object: paymentMethod });
  const previous = structuredClone(customer.invoice_settings);
  customer.invoice_settings = { ...customer.invoice_settings, default_payment_method: paymentMethod.id };
  ctx.emit({ type: "customer.updated", object: customer, previousAttributes: { invoice_settings: previous } });
  return paymentMethod;
}

/** Test control: the customer's next `count` charges are declined (0 clears it). */
export function declineNextCharges(ctx: BillingEngineContext, { customerId, count }: { customerId: string; count: number }): void {
  customerOf(ctx, customerId);
  if (!Number.isInteger(count) || count < 0) throw invalidParam({ param: "count", message: "count must be a whole number, 0 or more." });
  if (count === 0) delete ctx.state.declines[customerId];
  else ctx.state.declines[customerId] = count;
}

function takeDecline(ctx: BillingEngineContext, customerId: string | null): DeclineDetails | null {
  if (!customerId) return null;
  const left = ctx.state.declines[customerId] ?? 0;
  if (left <= 0) return null;
  if (left === 1) delete ctx.state.declines[customerId];
  else ctx.state.declines[customerId] = left - 1;
  return GENERIC_DECLINE;
}

export interface PaymentOutcome {
  paymentIntent: Stripe.PaymentIntent;
  charge: Stripe.Charge;
  decline: DeclineDetails | null;
}

/**
 * Creates and confirms a PaymentIntent on a card: `payment_intent.created`, then either
 * `payment_intent.succeeded` + `charge.succeeded` or `payment_intent.payment_failed` + `charge.failed`.
 */
export function takePayment(
  ctx: BillingEngineContext,
  {
    customerId,
    amount,
    currency,
    paymentMethodId,
    description,
    metadata,
    declinable,
  }: {
    customerId: string | null;
    amount: number;
    currency: string;
    paymentMethodId: string | null;
    description: string | null;
    metadata: Record<string, string>;
    /** Off-session charges of a saved card can be declined; the customer's own Checkout payment is not. */
    declinable: boolean;
  },
): PaymentOutcome {
  const paymentIntent = buildPaymentIntent({ amount, currency, customerId, paymentMethodId, description, metadata });
  ctx.state.paymentIntents[paymentIntent.id] = paymentIntent;
  ctx.emit({ type: "payment_intent.created", object: paymentIntent });
  return confirmPayment(ctx, { paymentIntent, declinable });
}

export function confirmPayment(
  ctx: BillingEngineContext,
  { paymentIntent, declinable }: { paymentIntent: Stripe.PaymentIntent; declinable: boolean },
): PaymentOutcome {
  const paymentMethodId = idOf(paymentIntent.payment_method);
  const paymentMethod = paymentMethodId ? (ctx.state.paymentMethods[paymentMethodId] ?? null) : null;
  const decline = declinable ? takeDecline(ctx, idOf(paymentIntent.customer)) : null;
  const charge = buildCharge({ paymentIntent, paymentMethod, decline });
  ctx.state.charges[charge.id] = charge;
  paymentIntent.latest_charge = charge.id;
  if (decline) {
    paymentIntent.status = "requires_payment_method";
    paymentIntent.last_payment_error = {
      type: "card_error",
      code: decline.code,
      decline_code: decline.declineCode,
      message: decline.message,
      charge: charge.id,
      doc_url: "https://stripe.com/docs/error-codes/card-declined",
      ...(paymentMethod ? { payment_method: paymentMethod } : {}),
    };
    ctx.emit({ type: "payment_intent.payment_failed", object: paymentIntent });
    ctx.emit({ type: "charge.failed", object: charge });
  } else {
    paymentIntent.status = "succeeded";
    paymentIntent.amount_received = paymentIntent.amount;
    paymentIntent.last_payment_error = null;
    ctx.emit({ type: "payment_intent.succeeded", object: paymentIntent });
    ctx.emit({ type: "charge.succeeded", object: charge });
  }
  return { paymentIntent, charge, decline };
}

/** Stripe's 402 answer to a declined card, carrying the charge and the PaymentIntent. */
export function cardDeclinedError(outcome: PaymentOutcome): StripeApiError {
  const decline = outcome.decline ?? GENERIC_DECLINE;
  const paymentMethod = outcome.paymentIntent.last_payment_error?.payment_method;
  return new StripeApiError({
    status: 402,
    type: "card_error",
    code: decline.code,
    message: decline.message,
    extra: {
      decline_code: decline.declineCode,
      charge: outcome.charge.id,
      doc_url: "https://stripe.com/docs/error-codes/card-declined",
      payment_intent: structuredClone(outcome.paymentIntent),
      ...(paymentMethod ? { payment_method: structuredClone(paymentMethod) } : {}),
    },
  });
}

export interface OffSessionPaymentInput {
  customerId: string;
  amount: number;
  currency: string;
  paymentMethodId: string | null;
  description: string | null;
  metadata: Record<string, string>;
  confirm: boolean;
  offSession: boolean;
}

/** POST /v1/payment_intents: with `confirm: true` the card is charged at once (402 when declined). */
export function createPaymentIntent(ctx: BillingEngineContext, input: OffSessionPaymentInput): Stripe.PaymentIntent {
  customerOf(ctx, input.customerId);
  if (!Number.isInteger(input.amount) || input.amount < 1) {
    throw invalidParam({ param: "amount", message: "Invalid positive integer: amount must be at least 1." });
  }
  if (input.paymentMethodId !== null) {
    const paymentMethod = ctx.state.paymentMethods[input.paymentMethodId];
    if (!paymentMethod) throw resourceMissing({ kind: "payment_method", id: input.paymentMethodId, param: "payment_method" });
    if (paymentMethod.customer !== input.customerId) {
      throw invalidParam({
        param: "payment_method",
        message: `The provided PaymentMethod ${input.paymentMethodId} does not belong to the customer ${input.customerId}.`,
      });
    }
  }
  if (!input.confirm) {
    const paymentIntent = buildPaymentIntent({
      amount: input.amount,
      currency: input.currency,
      customerId: input.customerId,
      paymentMethodId: input.paymentMethodId,
      description: input.description,
      metadata: input.metadata,
    });
    paymentIntent.status = input.paymentMethodId ? "requires_confirmation" : "requires_payment_method";
    ctx.state.paymentIntents[paymentIntent.id] = paymentIntent;
    ctx.emit({ type: "payment_intent.created", object: paymentIntent });
    return paymentIntent;
  }
  if (input.paymentMethodId === null) {
    throw new StripeApiError({
      status: 400,
      code: "payment_intent_unexpected_state",
      param: "payment_method",
      message: "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with cus, specify a payment method attached to this customer along with the customer ID.",
    });
  }
  const outcome = takePayment(ctx, {
    customerId: input.customerId,
    amount: input.amount,
    currency: input.currency,
    paymentMethodId: input.paymentMethodId,
    description: input.description,
    metadata: input.metadata,
    declinable: true,
  });
  if (outcome.decline) throw cardDeclinedError(outcome);
  return outcome.paymentIntent;
}

export function findPaymentIntent(ctx: BillingEngineContext, id: string): Stripe.PaymentIntent {
  const paymentIntent = ctx.state.paymentIntents[id];
  if (!paymentIntent) throw resourceMissing({ kind: "payment_intent", id });
  return paymentIntent;
}

export function findCharge(ctx: BillingEngineContext, id: string): Stripe.Charge {
  const charge = ctx.state.charges[id];
  if (!charge) throw resourceMissing({ kind: "charge", id });
  return charge;
}

/** POST /v1/refunds on a charge or a PaymentIntent's charge; the whole remainder unless `amount`. */
export function createRefund(
  ctx: BillingEngineContext,
  {
    chargeId,
    paymentIntentId,
    amount,
    reason,
    metadata,
  }: {
    chargeId: string | null;
    paymentIntentId: string | null;
    amount: number | null;
    reason: Stripe.Refund.Reason | null;
    metadata: Record<string, string>;
  },
): Stripe.Refund {
  let charge: Stripe.Charge;
  if (chargeId) {
    charge = findCharge(ctx, chargeId);
  } else if (paymentIntentId) {
    const latest = idOf(findPaymentIntent(ctx, paymentIntentId).latest_charge);
    if (!latest) throw invalidParam({ param: "payment_intent", message: `PaymentIntent ${paymentIntentId} has no charge to refund.` });
    charge = findCharge(ctx, latest);
  } else {
    throw invalidParam({ param: "charge", message: "One of `charge` or `payment_intent` is required." });
  }
  if (charge.status !== "succeeded") {
    throw invalidParam({ param: "charge", message: `Charge ${charge.id} did not succeed, so there is nothing to refund.` });
  }
  const remaining = charge.amount - charge.amount_refunded;
  const refundAmount = amount ?? remaining;
  if (remaining <= 0) {
    throw new StripeApiError({ status: 400, code: "charge_already_refunded", message: `Charge ${charge.id} has already been refunded.` });
  }
  if (!Number.isInteger(refundAmount) || refundAmount < 1 || refundAmount > remaining) {
    throw invalidParam({
      param: "amount",
      message: `Refund amount (${refundAmount}) is greater than unrefunded amount on charge (${remaining}).`,
    });
  }
  const refund = buildRefund({ charge, amount: refundAmount, reason, metadata });
  ctx.state.refunds[refund.id] = refund;
  const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
  charge.amount_refunded += refundAmount;
  charge.refunded = charge.amount_refunded === charge.amount;
  ctx.emit({ type: "refund.created", object: refund });
  ctx.emit({ type: "charge.refunded", object: charge, previousAttributes: previous });
  return refund;
}
