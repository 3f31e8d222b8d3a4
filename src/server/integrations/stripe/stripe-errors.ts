/** Errors the Stripe gateway throws, so callers never need the SDK's own classes. */

/** Stripe could not be reached, timed out or answered 5xx. Map to `503 billing_unavailable`. */
export class BillingUnavailableError extends Error {
  readonly code = "billing_unavailable";

  constructor(message = "The payment service is not available right now.", options?: ErrorOptions) {
    super(message, options);
    this.name = "BillingUnavailableError";
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

/** A webhook whose `Stripe-Signature` is missing, stale or does not match the raw body. */
export class WebhookSignatureError extends Error {
  readonly code = "invalid_signature";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WebhookSignatureError";
  }
}
