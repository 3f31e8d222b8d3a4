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
  metadata: Record<string, string>;
}

export interface CheckoutSessionState {
  id: string;
  mode: string;
  status: string | null;
  paymentStatus: string;
  customerId: string | null;
  amountTotal: number | null;
  currency: string | null;
  subscriptionId: string | null;
  metadata: Record<string, string>;
}

export interface InvoiceState {
  id: string;
  customerId: string | null;
  subscriptionId: string | null;
  metadata: Record<string, string>;
  hostedInvoiceUrl: string | null;
  billingReason: string | null;
  periodStart: Date;
  periodEnd: Date;
  paid: boolean;
  total: number;
  currency: string;
  quantity: number | null;
}

export interface StripeEventLike {
  id: string;
  type: string;
  data: { object: object };
}

export interface StripePort {
  createCustomer(o: { groupId: string; name: string; idempotencyKey: string }): Promise<{ id: string }>;
  createCheckoutSession(o: CheckoutSessionInput): Promise<{ id: string; url: string | null }>;
  retrieveCheckoutSession(id: string): Promise<CheckoutSessionState>;
  retrieveSubscription(id: string): Promise<SubscriptionState | null>;
  updateSubscriptionQuantity(o: { subscriptionId: string; quantity: number; idempotencyKey: string; prorationBehavior?: "none" }): Promise<SubscriptionState>;
  setCancelAtPeriodEnd(o: { subscriptionId: string; cancelAtPeriodEnd: boolean; idempotencyKey: string }): Promise<SubscriptionState>;
  expireCheckoutSession(id: string): Promise<CheckoutSessionState>;
  cancelAndRefundSubscription(o: { subscriptionId: string; idempotencyKey: string }): Promise<{ refunded: number }>;
  chargeInvoiceNow(o: { customerId: string; amount: number; currency: string; description: string; metadata: Record<string, string>; idempotencyKey: string }): Promise<{
    invoiceId: string;
    paid: boolean;
    declineReason: string | null;
    total: number;
    currency: string;
    customerId: string | null;
  }>;
  retrieveInvoice(id: string): Promise<InvoiceState>;
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
