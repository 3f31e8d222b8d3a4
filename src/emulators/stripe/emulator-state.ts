import type Stripe from "stripe";

/** Everything the Stripe emulator remembers; persisted as one JSON file when a dataDir is given. */
export interface CheckoutRecord {
  session: Stripe.Checkout.Session;
  lineItems: Stripe.LineItem[];
  subscriptionMetadata: Record<string, string>;
  /** Carried by the hosted page's Pay form: only the page itself can press Pay. */
  formToken?: string;
}

/** A customer portal session: its URL carries `urlToken`; its forms carry `formToken`. */
export interface PortalRecord {
  session: Stripe.BillingPortal.Session;
  urlToken: string;
  formToken: string;
}

export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

export interface StripeEmulatorState {
  version: 1;
  customers: Record<string, Stripe.Customer>;
  /** Customers deleted (DELETE /v1/customers/:id): retrieving one answers this stub, as Stripe does. */
  deletedCustomers: Record<string, Stripe.DeletedCustomer>;
  checkoutSessions: Record<string, CheckoutRecord>;
  subscriptions: Record<string, Stripe.Subscription>;
  /** Oldest first. */
  invoices: Stripe.Invoice[];
  /** Oldest first. */
  events: Stripe.Event[];
  idempotency: Record<string, StoredResponse>;
  paymentMethods: Record<string, Stripe.PaymentMethod>;
  paymentIntents: Record<string, Stripe.PaymentIntent>;
  charges: Record<string, Stripe.Charge>;
  refunds: Record<string, Stripe.Refund>;
  invoiceItems: Record<string, Stripe.InvoiceItem>;
  /** By invoice id: its payment attempts (returned with `expand[]=payments`). */
  invoicePayments: Record<string, Stripe.InvoicePayment[]>;
  /** By customer id: how many of its next off-session charges are declined (test control). */
  declines: Record<string, number>;
  subscriptionSchedules: Record<string, Stripe.SubscriptionSchedule>;
  /** By URL token. */
  portalSessions: Record<string, PortalRecord>;
}

export function emptyState(): StripeEmulatorState {
  return {
    version: 1,
    customers: {},
    deletedCustomers: {},
    checkoutSessions: {},
    subscriptions: {},
    invoices: [],
    events: [],
    idempotency: {},
    paymentMethods: {},
    paymentIntents: {},
    charges: {},
    refunds: {},
    invoiceItems: {},
    invoicePayments: {},
    declines: {},
    subscriptionSchedules: {},
    portalSessions: {},
  };
}

/** A state file from an older emulator lacks the newer collections: start them empty. */
export function upgradeState(loaded: Partial<StripeEmulatorState>): StripeEmulatorState {
  return { ...emptyState(), ...loaded };
}

/** An error answered in Stripe's shape: `{ error: { type, message, code?, param? } }`. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly param: string | undefined;
  /** Extra fields of the error body, e.g. `decline_code`, `charge`, `payment_intent` for card errors. */
  readonly extra: Record<string, unknown>;

  constructor({
    status,
    type = "invalid_request_error",
    message,
    code,
    param,
    extra = {},
  }: {
    status: number;
    type?: string;
    message: string;
    code?: string;
    param?: string;
    extra?: Record<string, unknown>;
  }) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.extra = extra;
  }

  toBody(): { error: { type: string; message: string; code?: string; param?: string } } {
    return {
      error: {
        type: this.type,
        message: this.message,
        ...(this.code ? { code: this.code } : {}),
        ...(this.param ? { param: this.param } : {}),
        ...this.extra,
      },
    };
  }
}

export function resourceMissing({ kind, id, param = "id" }: { kind: string; id: string; param?: string }): StripeApiError {
  return new StripeApiError({ status: 404, message: `No such ${kind}: '${id}'`, code: "resource_missing", param });
}

export function invalidParam({ param, message }: { param: string; message: string }): StripeApiError {
  return new StripeApiError({ status: 400, message, code: "parameter_invalid", param });
}
