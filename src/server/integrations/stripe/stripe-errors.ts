/** Errors the Stripe gateway throws, so callers never need the SDK's own classes. */

/**
 * Stripe could not be reached, timed out or answered 5xx. Map to `503 billing_unavailable`.
 * `outcomeUnknown` is true when the request may have reached Stripe (timeout, connection lost
 * after sending): a write may have happened, so keep the intent pending and repeat it with the
 * same idempotency key (Stripe then answers the first result) instead of reporting a failure.
 * It is false when the request was refused before it was sent (nothing happened).
 */
export class BillingUnavailableError extends Error {
  readonly code = "billing_unavailable";
  readonly outcomeUnknown: boolean;

  constructor(message = "The payment service is not available right now.", options?: ErrorOptions & { outcomeUnknown?: boolean }) {
    super(message, options);
    this.name = "BillingUnavailableError";
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** Stripe declined the card (402 `card_error`): nothing was charged. Map to `402 payment_failed`. */
export class CardDeclinedError extends Error {
  readonly code = "payment_failed";
  readonly declineCode: string | null;
  /** The invoice or PaymentIntent whose payment failed, when there is one. */
  readonly invoiceId: string | null;
  readonly paymentIntentId: string | null;

  constructor({
    message,
    declineCode,
    invoiceId = null,
    paymentIntentId = null,
    cause,
  }: {
    message: string;
    declineCode: string | null;
    invoiceId?: string | null;
    paymentIntentId?: string | null;
    cause?: unknown;
  }) {
    super(message, { cause });
    this.name = "CardDeclinedError";
    this.declineCode = declineCode;
    this.invoiceId = invoiceId;
    this.paymentIntentId = paymentIntentId;
  }
}

/** Stripe answered and refused the request (4xx), e.g. an unknown id or a bad parameter. */
export class StripeRequestError extends Error {
  readonly code = "stripe_request_failed";
  readonly status: number | null;
  readonly stripeCode: string | null;

  constructor({
    message,
    status,
    stripeCode,
    cause,
  }: {
    message: string;
    status: number | null;
    stripeCode: string | null;
    cause?: unknown;
  }) {
    super(message, { cause });
    this.name = "StripeRequestError";
    this.status = status;
    this.stripeCode = stripeCode;
  }
}

/**
 * Stripe refused the request because the customer it names no longer exists (deleted in Stripe's
 * dashboard): nothing was done, and repeating it never helps.
 */
export class CustomerDeletedError extends Error {
  readonly code = "stripe_customer_deleted";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CustomerDeletedError";
  }
}

/** A webhook whose `Stripe-Signature` is missing, stale or does not match the raw body. */
export class WebhookSignatureError extends Error {
  readonly code = "invalid_signature";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WebhookSignatureError";
  }
}
