import { AppError } from "../../errors.js";

/**
 * The group's Stripe customer was deleted at Stripe (its dashboard): every purchase, portal session
 * and invoice list naming it is refused, and trying again never helps, so the admin is told so
 * (`409 conflict`, api.md) instead of a 500, and nothing is charged or recorded.
 */
export const CUSTOMER_DELETED =
  "This group's billing account no longer exists at Stripe (it was deleted there), so nothing was charged. Contact support to set up billing again.";

/** The gateway's CustomerDeletedError (ports.ts): Stripe has no such customer any more. */
export const isCustomerDeleted = (err: unknown) => (err as { code?: unknown }).code === "stripe_customer_deleted";

export const customerDeleted = () => new AppError("conflict", CUSTOMER_DELETED);

/** Stripe answered 404 for the object a request names: it no longer has it (the gateway's StripeRequestError). */
export const isMissingStripeObject = (err: unknown) =>
  (err as { code?: unknown }).code === "stripe_request_failed" && (err as { status?: unknown }).status === 404;
