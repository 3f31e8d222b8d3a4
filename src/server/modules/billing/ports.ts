/**
 * What the billing module needs from the outside world. The Stripe and partner integrations
 * implement these; the module never imports an SDK.
 */

export interface PaidInvoice {
  id: string;
  number: string | null;
  paidAt: Date;
  description: string;
  total: { amount: number; currency: string };
  hostedInvoiceUrl: string | null;
  /**
   * What a Stripe invoice is for, from its objects rather than its text (partner charges have none):
   * list-invoices turns it into the one wording of domain/invoice-lines.ts.
   */
  facts?: InvoiceFacts;
}

export interface InvoiceFacts {
  billingReason: string | null;
  subscriptionId: string | null;
  /** The invoice's metadata over its subscription's (ours carry `purchaseId`; imported history `lineKind`). */
  metadata: Record<string, string>;
  /** Quantity and service period end of the main (first positive) line. */
  quantity: number | null;
  periodEnd: Date | null;
}

export interface CheckoutSessionInput {
  customerId: string;
  mode: "payment" | "subscription";
  productName: string;
  /** Integer minor units per package. */
  unitAmount: number;
  currency: string;
  quantity: number;
  successUrl: string;
  cancelUrl: string;
  metadata: Record<string, string>;
  idempotencyKey: string;
  clientReferenceId?: string;
}

export interface SubscriptionState {
  id: string;
  customerId: string;
  status: string;
  quantity: number;
  itemId: string;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  /** The quantity from the next period when the customer lowered it in the portal, else null. */
  scheduledQuantity: number | null;
  /** The newest invoice (a renewal's, paid or not): a past-due plan's unpaid invoice. */
  latestInvoiceId: string | null;
  /** When it ended (null while it has not). */
  canceledAt?: Date | null;
  metadata: Record<string, string>;
}

export interface CheckoutSessionState {
  id: string;
  /** The hosted page's address while the session is open. */
  url: string | null;
  mode: string;
  status: string | null;
  paymentStatus: string;
  customerId: string | null;
  subscriptionId: string | null;
  invoiceId: string | null;
  amountTotal: number | null;
  currency: string | null;
  metadata: Record<string, string>;
}

export interface InvoiceState {
  id: string;
  customerId: string | null;
  subscriptionId: string | null;
  billingReason: string | null;
  periodStart: Date;
  periodEnd: Date;
  paid: boolean;
  /** When it was paid (null while unpaid). */
  paidAt?: Date | null;
  /** Voided: it can never be paid. */
  voided: boolean;
  total: number;
  currency: string;
  quantity: number | null;
  metadata: Record<string, string>;
  hostedInvoiceUrl: string | null;
}

/** A one-off invoice charged automatically to the customer's card; its steps' keys derive from `idempotencyKey`. */
export interface InvoiceDraftInput {
  customerId: string;
  currency: string;
  description: string;
  metadata: Record<string, string>;
  idempotencyKey: string;
}

export interface StripeEventLike {
  id: string;
  type: string;
  data: { object: object };
}

export interface CustomerState {
  id: string;
  /** The card saved at Checkout, charged by one-off invoices and off-session payments. */
  defaultPaymentMethodId: string | null;
}

export interface PaymentIntentState {
  id: string;
  /** "succeeded" once charged. */
  status: string;
  amount: number;
  amountReceived: number;
  currency: string;
  customerId: string | null;
  metadata: Record<string, string>;
}

export interface RefundState {
  id: string;
  amount: number;
  currency: string;
  status: string | null;
}

/**
 * Errors the Stripe port throws (see integrations/stripe/stripe-errors.ts):
 * - `billing_unavailable` (BillingUnavailableError): no answer or 5xx. Its `outcomeUnknown` is
 *   true when the request may have reached Stripe: repeat it with the same idempotency key.
 * - `payment_failed` (CardDeclinedError): the saved card was declined; nothing was charged.
 * - `stripe_request_failed` (StripeRequestError): Stripe refused the request (4xx).
 * - `stripe_customer_deleted` (CustomerDeletedError): the customer the request names was deleted at
 *   Stripe (its dashboard); nothing was done, and repeating the request never helps.
 */
export interface StripePort {
  createCustomer(o: { groupId: string; name: string; idempotencyKey: string }): Promise<{ id: string }>;
  retrieveCustomer(id: string): Promise<CustomerState>;
  setDefaultPaymentMethod(o: { customerId: string; paymentMethodId: string; idempotencyKey: string }): Promise<CustomerState>;
  createCheckoutSession(o: CheckoutSessionInput): Promise<{ id: string; url: string | null }>;
  retrieveCheckoutSession(id: string): Promise<CheckoutSessionState>;
  /** Expires an open session; one already complete or expired is answered as it is (check `status`). */
  expireCheckoutSession(o: { sessionId: string; idempotencyKey: string }): Promise<CheckoutSessionState>;
  retrieveSubscription(id: string): Promise<SubscriptionState | null>;
  /** The subscription a schedule changes (or changed, once released). */
  subscriptionOfSchedule(id: string): Promise<string | null>;
  /** The customer's subscriptions that are not canceled, newest first. */
  listSubscriptions(customerId: string): Promise<SubscriptionState[]>;
  /**
   * The quantity of this and every later period (a scheduled change from the next period is released).
   * `prorationBehavior` defaults to "always_invoice"; pass "none" to change the quantity without billing.
   * `cancelAtPeriodEnd`, when given, is set in the same update (a raise resumes a cancelling plan).
   */
  updateSubscriptionQuantity(o: {
    subscriptionId: string;
    quantity: number;
    idempotencyKey: string;
    prorationBehavior?: "always_invoice" | "create_prorations" | "none";
    cancelAtPeriodEnd?: boolean;
  }): Promise<SubscriptionState>;
  setCancelAtPeriodEnd(o: { subscriptionId: string; cancelAtPeriodEnd: boolean; idempotencyKey: string }): Promise<SubscriptionState>;
  /** Cancels at once; cancelling a canceled subscription answers it as it is. */
  cancelSubscription(o: { subscriptionId: string }): Promise<SubscriptionState>;
  /**
   * A one-off invoice's draft, the one its key makes: made once, and the same key answers the same
   * draft, so whoever lost the answer learns which invoice is the key's own. For 24 hours only: then
   * Stripe forgets the key, which then makes another draft (a purchase whose draft is recorded never
   * asks again: own-invoice.ts recordOwnInvoice).
   */
  createInvoiceDraft(o: InvoiceDraftInput): Promise<{ id: string }>;
  /**
   * `quantity × unitAmount` on the draft createInvoiceDraft made with the same input and key, charged
   * now to the customer's default card (`invoice.paid` follows). Throws `payment_failed` when
   * declined. Safe to repeat with the same key, even once Stripe has forgotten it: each step (its item,
   * finalize, pay) is taken only if the invoice's state still needs it.
   */
  chargeInvoice(o: InvoiceDraftInput & { invoiceId: string; unitAmount: number; quantity: number }): Promise<InvoiceState>;
  /**
   * Charges the saved card (default unless `paymentMethodId`) off-session with a PaymentIntent.
   * Throws `payment_failed` when declined. Safe to repeat with the same key.
   */
  createOffSessionPayment(o: {
    customerId: string;
    amount: number;
    currency: string;
    description: string;
    metadata: Record<string, string>;
    paymentMethodId?: string;
    idempotencyKey: string;
  }): Promise<PaymentIntentState>;
  retrievePaymentIntent(id: string): Promise<PaymentIntentState>;
  /** Refunds an invoice's payment (all of it unless `amount`). */
  refundInvoice(o: { invoiceId: string; amount?: number; metadata?: Record<string, string>; idempotencyKey: string }): Promise<RefundState>;
  /** A customer portal session (cancel at period end, resume, lower from the next period); open its `url`. */
  createPortalSession(o: { customerId: string; returnUrl: string }): Promise<{ id: string; url: string }>;
  retrieveInvoice(id: string): Promise<InvoiceState>;
  /** Voids an open invoice, deletes a draft, so that it can never be paid; one already paid or void is answered as it is (check `paid`). */
  voidInvoice(o: { invoiceId: string; idempotencyKey: string }): Promise<InvoiceState>;
  listPaidInvoices(customerId: string): Promise<PaidInvoice[]>;
  constructEvent(rawBody: string, signature: string | undefined): StripeEventLike;
}

export interface PartnerChargeInfo {
  id: string;
  amount: number;
  currency: string;
  description?: string;
  createdAt: string | Date;
  receiptUrl?: string | null;
}

/**
 * A failed charge says what is known:
 * - `declined`: the partner refused it; nothing charged (`402 payment_failed` with the reason).
 * - `unavailable`: the request never reached the partner, or it answered 5xx; nothing charged
 *   (`503 billing_unavailable`).
 * - `unknown`: sent, but no answer (timeout, connection lost); the partner may have charged.
 *   The purchase stays `pending` until `findChargeByIdempotencyKey` (or the same charge sent again
 *   with the same key) settles it.
 * - `rejected`: the partner refused the request itself (bad input, key reused for another charge).
 */
export type PartnerChargeResult =
  | { ok: true; charge: PartnerChargeInfo }
  | { ok: false; reason: string; code: "declined" | "unavailable" | "unknown" | "rejected" };

export interface PartnerPort {
  charge(o: { accountId: string; amount: number; currency: string; description: string; idempotencyKey: string }): Promise<PartnerChargeResult>;
  /** The charge made for this idempotency key, or null if none. Throws `billing_unavailable` on outage. */
  findChargeByIdempotencyKey(idempotencyKey: string): Promise<PartnerChargeInfo | null>;
  listCharges(accountId: string): Promise<PaidInvoice[]>;
}
