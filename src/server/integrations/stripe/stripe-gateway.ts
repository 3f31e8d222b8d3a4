import Stripe from "stripe";
import type { CheckoutSessionInput, InvoiceDraftInput, PaidInvoice } from "../../modules/billing/ports.js";
import { BillingUnavailableError, CardDeclinedError, CustomerDeletedError, StripeRequestError, WebhookSignatureError } from "./stripe-errors.js";

/** Pinned: upgrading the SDK must be a deliberate change (the literal fails to type-check otherwise). */
export const STRIPE_API_VERSION = "2026-10-28.endive" satisfies typeof Stripe.API_VERSION;

export interface StripeGatewayOptions {
  secretKey: string;
  /** e.g. http://127.0.0.1:12111 for the emulator; null/undefined talks to api.stripe.com. */
  apiBase?: string | null;
  webhookSecret: string;
  /** Upper bound for one gateway call, retries included. */
  timeoutMs?: number;
}

/** The verified webhook event, as the SDK types it. */
export type StripeEvent = Stripe.Event;

export type CheckoutMode = "payment" | "subscription";

export type CreateCheckoutSessionInput = CheckoutSessionInput;

export interface CheckoutSessionSummary {
  id: string;
  url: string | null;
  mode: CheckoutMode;
  status: "open" | "complete" | "expired" | null;
  paymentStatus: "paid" | "unpaid" | "no_payment_required";
  customerId: string | null;
  subscriptionId: string | null;
  invoiceId: string | null;
  paymentIntentId: string | null;
  amountTotal: number | null;
  currency: string | null;
  metadata: Record<string, string>;
  clientReferenceId: string | null;
}

export interface SubscriptionSummary {
  id: string;
  customerId: string;
  status: Stripe.Subscription.Status;
  quantity: number;
  itemId: string;
  unitAmount: number | null;
  currency: string;
  currentPeriodStart: Date;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd: boolean;
  canceledAt: Date | null;
  /** The quantity from the next period when the customer lowered it (a subscription schedule), else null. */
  scheduledQuantity: number | null;
  /** The subscription's newest invoice (a renewal's, paid or not). */
  latestInvoiceId: string | null;
  metadata: Record<string, string>;
}

export interface InvoiceDetails {
  id: string;
  number: string | null;
  customerId: string | null;
  subscriptionId: string | null;
  /** Metadata of the subscription when the invoice was made (Stripe copies it onto the invoice). */
  subscriptionMetadata: Record<string, string>;
  billingReason: Stripe.Invoice.BillingReason | null;
  /** Service period of the (first) subscription line: the period a renewal pays for. */
  periodStart: Date;
  periodEnd: Date;
  /** Quantity of the first line: packages bought or renewed. */
  quantity: number | null;
  paid: boolean;
  /** Voided: it can never be paid. */
  voided: boolean;
  paidAt: Date | null;
  total: number;
  amountPaid: number;
  currency: string;
  description: string;
  hostedInvoiceUrl: string | null;
  metadata: Record<string, string>;
}

export interface CustomerSummary {
  id: string;
  /** The card invoices and off-session payments are charged to (saved at Checkout). */
  defaultPaymentMethodId: string | null;
  metadata: Record<string, string>;
}

export interface RefundSummary {
  id: string;
  amount: number;
  currency: string;
  status: string | null;
  chargeId: string | null;
  paymentIntentId: string | null;
}

export interface PaymentIntentSummary {
  id: string;
  status: Stripe.PaymentIntent.Status;
  amount: number;
  amountReceived: number;
  currency: string;
  customerId: string | null;
  paymentMethodId: string | null;
  metadata: Record<string, string>;
}

export type { InvoiceDraftInput, PaidInvoice };

export type StripeGateway = ReturnType<typeof createStripeGateway>;

export function createStripeGateway({ secretKey, apiBase = null, webhookSecret, timeoutMs = 3000 }: StripeGatewayOptions) {
  const stripe = new Stripe(secretKey, {
    apiVersion: STRIPE_API_VERSION,
    ...hostConfig(apiBase),
    timeout: timeoutMs,
    maxNetworkRetries: 1,
    telemetry: false,
  });
  const call = <T>(operation: () => Promise<T>): Promise<T> => withDeadline({ operation, timeoutMs });

  /** Every invoice of the customer in `status`, newest first (follows pagination). */
  async function listInvoices(customerId: string, status: Stripe.InvoiceListParams.Status): Promise<Stripe.Invoice[]> {
    const invoices: Stripe.Invoice[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const page = await stripe.invoices.list({ customer: customerId, status, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) });
      invoices.push(...page.data);
      const last = page.data.at(-1);
      if (!page.has_more || !last) return invoices;
      startingAfter = last.id;
    }
  }

  /**
   * The draft of a purchase's own invoice, on the key chain (withReplayedErrorRecovery): after a key
   * Stripe spent on a 500, the next key makes the draft, and every later call walks to the same one.
   * A draft the spent key's request may have made all the same is never charged (nothing adds to,
   * finalizes or pays a draft but its own purchase, which knows only the one its chain answers).
   */
  async function createDraft({ customerId, currency, description, metadata, idempotencyKey }: InvoiceDraftInput) {
    return withReplayedErrorRecovery(`${idempotencyKey}:invoice`, async (key) => {
      const draft = await stripe.invoices.create(
        {
          customer: customerId,
          currency,
          collection_method: "charge_automatically",
          pending_invoice_items_behavior: "exclude",
          auto_advance: false,
          description,
          metadata,
        },
        { idempotencyKey: key, ...ONE_TRY },
      );
      return { id: draft.id };
    });
  }

  async function collect({
    invoiceId,
    customerId,
    currency,
    unitAmount,
    quantity,
    description,
    metadata,
    idempotencyKey,
  }: InvoiceDraftInput & { invoiceId: string; unitAmount: number; quantity: number }) {
    // Each step goes by the invoice's own state, not by its key: Stripe forgets a key after 24 hours,
    // and a purchase pending longer (an outage) must not add its item twice. The draft is the
    // purchase's own and only this item is ever added to it, so a line on it is this item, there
    // already (also read again after a spent key, see withReplayedErrorRecovery), and none means it
    // still is not; an invoice no longer a draft has its item.
    let invoice: Stripe.Invoice = await stripe.invoices.retrieve(invoiceId);
    if (invoice.status === "draft" && invoice.lines.data.length === 0) {
      await withReplayedErrorRecovery(`${idempotencyKey}:item`, async (key, afterSpentKey) => {
        if (afterSpentKey && (await stripe.invoices.retrieve(invoiceId)).lines.data.length > 0) return;
        await stripe.invoiceItems.create(
          {
            customer: customerId,
            invoice: invoiceId,
            currency,
            unit_amount_decimal: Stripe.Decimal.from(unitAmount),
            quantity,
            description,
            metadata,
          },
          { idempotencyKey: key, ...ONE_TRY },
        );
      });
    }
    if (invoice.status === "draft") invoice = await finalizeInvoice(invoice, `${idempotencyKey}:finalize`);
    if (invoice.status === "open") {
      try {
        invoice = await payInvoice(invoice, `${idempotencyKey}:pay`);
      } catch (error) {
        if (error instanceof Stripe.errors.StripeCardError) {
          throw new CardDeclinedError({ message: error.message, declineCode: error.decline_code ?? error.code ?? null, invoiceId, cause: error });
        }
        throw error;
      }
    }
    return toInvoiceDetails(invoice);
  }

  /** With its schedule, so a quantity lowered from the next period shows as `scheduledQuantity`. */
  async function fetchSubscription(id: string): Promise<Stripe.Subscription> {
    return stripe.subscriptions.retrieve(id, { expand: ["schedule"] });
  }

  /** Finalizes a draft invoice (see withReplayedErrorRecovery); one no longer a draft is answered as it is. */
  const finalizeInvoice = (draft: Stripe.Invoice, idempotencyKey: string) =>
    withReplayedErrorRecovery(idempotencyKey, async (key, afterSpentKey) => {
      const now = afterSpentKey ? await stripe.invoices.retrieve(draft.id) : draft;
      return now.status === "draft" ? stripe.invoices.finalizeInvoice(draft.id, {}, { idempotencyKey: key, ...ONE_TRY }) : now;
    });

  /** Pays an open invoice off-session (see withReplayedErrorRecovery); one no longer open (paid meanwhile) is answered as it is. */
  const payInvoice = (open: Stripe.Invoice, idempotencyKey: string) =>
    withReplayedErrorRecovery(idempotencyKey, async (key, afterSpentKey) => {
      const now = afterSpentKey ? await stripe.invoices.retrieve(open.id) : open;
      return now.status === "open" ? stripe.invoices.pay(open.id, { off_session: true }, { idempotencyKey: key, ...ONE_TRY }) : now;
    });

  return {
    /** On the key chain (see withReplayedErrorRecovery): a spent key does not keep the group from billing for a day. */
    createCustomer: ({ groupId, name, idempotencyKey }: { groupId: string; name: string; idempotencyKey: string }) =>
      call(async () => {
        const customer = await withReplayedErrorRecovery(idempotencyKey, (key) =>
          stripe.customers.create({ name, metadata: { groupId } }, { idempotencyKey: key, ...ONE_TRY }),
        );
        return { id: customer.id };
      }),

    /** On the key chain (see withReplayedErrorRecovery): a retry of the purchase after a spent key gets its page. */
    createCheckoutSession: (input: CreateCheckoutSessionInput) =>
      call(async () => {
        const params = checkoutParams(input);
        const session = await withReplayedErrorRecovery(input.idempotencyKey, (key) => stripe.checkout.sessions.create(params, { idempotencyKey: key, ...ONE_TRY }));
        if (!session.url) throw new StripeRequestError({ message: "Checkout Session has no URL.", status: null, stripeCode: null });
        return { id: session.id, url: session.url };
      }),

    retrieveCheckoutSession: (id: string) => call(async () => toCheckoutSummary(await stripe.checkout.sessions.retrieve(id))),

    retrieveSubscription: (id: string) => call(async () => toSubscriptionSummary(await fetchSubscription(id))),

    /** The subscription a schedule changes (or changed, once released), for the schedule's events. */
    subscriptionOfSchedule: (id: string) =>
      call(async () => {
        const schedule = await stripe.subscriptionSchedules.retrieve(id);
        return idOf(schedule.subscription) ?? schedule.released_subscription;
      }),

    /**
     * Sets the plan's quantity for this and every later period: a schedule that would change it from
     * the next period (a quantity lowered in the portal) is released first. By default Stripe bills
     * the prorated difference at once.
     */
    updateSubscriptionQuantity: ({
      subscriptionId,
      quantity,
      idempotencyKey,
      prorationBehavior = "always_invoice",
      cancelAtPeriodEnd,
    }: {
      subscriptionId: string;
      quantity: number;
      idempotencyKey: string;
      prorationBehavior?: "always_invoice" | "create_prorations" | "none";
      cancelAtPeriodEnd?: boolean;
    }) =>
      call(async () => {
        const current = await fetchSubscription(subscriptionId);
        const schedule = current.schedule;
        if (schedule !== null && typeof schedule !== "string" && (schedule.status === "active" || schedule.status === "not_started")) {
          await stripe.subscriptionSchedules.release(schedule.id, {}, { idempotencyKey: `${idempotencyKey}:release` });
        }
        const itemId = firstItem(current).id;
        // Absolute values: once Stripe has them, the update is not sent again under another key.
        const updated = await withReplayedErrorRecovery(idempotencyKey, async (key, afterSpentKey) => {
          const now = afterSpentKey ? await fetchSubscription(subscriptionId) : null;
          const done = now && firstItem(now).quantity === quantity && (cancelAtPeriodEnd === undefined || now.cancel_at_period_end === cancelAtPeriodEnd);
          if (now && done) return now;
          return stripe.subscriptions.update(
            subscriptionId,
            {
              items: [{ id: itemId, quantity }],
              proration_behavior: prorationBehavior,
              ...(cancelAtPeriodEnd === undefined ? {} : { cancel_at_period_end: cancelAtPeriodEnd }),
            },
            { idempotencyKey: key, ...ONE_TRY },
          );
        });
        return toSubscriptionSummary(updated);
      }),

    setCancelAtPeriodEnd: ({
      subscriptionId,
      cancelAtPeriodEnd,
      idempotencyKey,
    }: {
      subscriptionId: string;
      cancelAtPeriodEnd: boolean;
      idempotencyKey: string;
    }) =>
      call(async () =>
        toSubscriptionSummary(
          await stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: cancelAtPeriodEnd }, { idempotencyKey }),
        ),
      ),

    /**
     * Expires an open Checkout Session so it can no longer be paid. A session that is already
     * complete or expired is answered as it is (check `status`: "complete" means it was paid first).
     */
    expireCheckoutSession: ({ sessionId, idempotencyKey }: { sessionId: string; idempotencyKey: string }) =>
      call(async () => {
        try {
          // At most once by the session's own state (see withReplayedErrorRecovery).
          const expired = await withReplayedErrorRecovery(idempotencyKey, async (key, afterSpentKey) => {
            const now = afterSpentKey ? await stripe.checkout.sessions.retrieve(sessionId) : null;
            return now && now.status !== "open" ? now : stripe.checkout.sessions.expire(sessionId, {}, { idempotencyKey: key, ...ONE_TRY });
          });
          return toCheckoutSummary(expired);
        } catch (error) {
          if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.statusCode === 404) throw error;
          const current = toCheckoutSummary(await stripe.checkout.sessions.retrieve(sessionId));
          if (current.status === "open") throw error;
          return current;
        }
      }),

    retrieveCustomer: (id: string) =>
      call(async () => {
        const customer = await stripe.customers.retrieve(id);
        if (customer.deleted) throw new StripeRequestError({ message: `Customer ${id} was deleted.`, status: 404, stripeCode: "resource_missing" });
        return toCustomerSummary(customer);
      }),

    /** Makes an attached card the customer's default for invoices and off-session payments. */
    setDefaultPaymentMethod: ({ customerId, paymentMethodId, idempotencyKey }: { customerId: string; paymentMethodId: string; idempotencyKey: string }) =>
      call(async () =>
        toCustomerSummary(
          await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: paymentMethodId } }, { idempotencyKey }),
        ),
      ),

    /**
     * The draft of a one-off invoice, created once per key (`${idempotencyKey}:invoice`): repeating the
     * call answers the same draft, so a caller that lost the answer learns which invoice its key made.
     */
    createInvoiceDraft: (input: InvoiceDraftInput) => call(() => createDraft(input)),

    /**
     * Bills `quantity × unitAmount` now on the draft `invoiceId` (createInvoiceDraft with the same key):
     * its invoice item, finalize, pay, each step with its own key derived from `idempotencyKey`, and
     * each taken only if the invoice's state (read first) still needs it: the item only on a draft with
     * no lines, finalize only a draft, pay only an open invoice. So repeating the call after a timeout
     * repeats nothing, even once Stripe has forgotten the keys (24 hours). A paid invoice sends
     * `invoice.paid`; a declined card throws CardDeclinedError (the invoice stays open and
     * `invoice.payment_failed` is sent).
     */
    chargeInvoice: (input: InvoiceDraftInput & { invoiceId: string; unitAmount: number; quantity: number }) => call(() => collect(input)),

    /**
     * Charges the customer's saved card now, without the customer present: a PaymentIntent with
     * `off_session` and `confirm`, on `paymentMethodId` or else the customer's default card.
     * Succeeds with status "succeeded" (`payment_intent.succeeded` follows); a declined card throws
     * CardDeclinedError (`payment_intent.payment_failed` follows). Safe to repeat with the same key.
     */
    createOffSessionPayment: ({
      customerId,
      amount,
      currency,
      description,
      metadata,
      paymentMethodId,
      idempotencyKey,
    }: {
      customerId: string;
      amount: number;
      currency: string;
      description: string;
      metadata: Record<string, string>;
      paymentMethodId?: string;
      idempotencyKey: string;
    }) =>
      call(async () => {
        let card = paymentMethodId ?? null;
        if (!card) {
          const customer = await stripe.customers.retrieve(customerId);
          card = customer.deleted ? null : idOf(customer.invoice_settings.default_payment_method);
        }
        if (!card) {
          throw new StripeRequestError({ message: `Customer ${customerId} has no saved card to charge.`, status: 400, stripeCode: "missing" });
        }
        const paymentIntent = await stripe.paymentIntents.create(
          { customer: customerId, amount, currency, payment_method: card, off_session: true, confirm: true, description, metadata },
          { idempotencyKey },
        );
        return toPaymentIntentSummary(paymentIntent);
      }),

    retrievePaymentIntent: (id: string) => call(async () => toPaymentIntentSummary(await stripe.paymentIntents.retrieve(id))),

    /** Cancels a subscription at once (no proration invoice). Cancelling a canceled one answers it as it is. */
    cancelSubscription: ({ subscriptionId }: { subscriptionId: string }) =>
      call(async () => {
        try {
          return toSubscriptionSummary(await stripe.subscriptions.cancel(subscriptionId, { prorate: false, invoice_now: false }));
        } catch (error) {
          if (!(error instanceof Stripe.errors.StripeInvalidRequestError) || error.statusCode === 404) throw error;
          const current = await fetchSubscription(subscriptionId);
          if (current.status !== "canceled") throw error;
          return toSubscriptionSummary(current);
        }
      }),

    /** The customer's subscriptions that are not canceled, newest first. */
    listSubscriptions: (customerId: string) =>
      call(async () => {
        const page = await stripe.subscriptions.list({ customer: customerId, limit: 100 });
        return page.data.map(toSubscriptionSummary);
      }),

    /**
     * Refunds what an invoice's payment took (all of it unless `amount`), e.g. the later of two
     * subscriptions a race created. Sends `refund.created` and `charge.refunded`.
     */
    refundInvoice: ({
      invoiceId,
      amount,
      metadata = {},
      idempotencyKey,
    }: {
      invoiceId: string;
      amount?: number;
      metadata?: Record<string, string>;
      idempotencyKey: string;
    }) =>
      call(async () => {
        const invoice = await stripe.invoices.retrieve(invoiceId, { expand: ["payments"] });
        const paid = invoice.payments?.data.find((payment) => payment.status === "paid") ?? null;
        const paymentIntentId = paid ? idOf(paid.payment.payment_intent ?? null) : null;
        if (!paymentIntentId) {
          throw new StripeRequestError({ message: `Invoice ${invoiceId} has no paid payment to refund.`, status: null, stripeCode: null });
        }
        const params: Stripe.RefundCreateParams = { payment_intent: paymentIntentId, ...(amount === undefined ? {} : { amount }), reason: "requested_by_customer", metadata };
        // A whole refund is bounded by Stripe itself (it never refunds more than the charge took), so it
        // may go on past a key spent on Stripe's saved 500 (withReplayedErrorRecovery); a partial one may
        // not: under a second key it could be refunded twice.
        const refund =
          amount === undefined
            ? await withReplayedErrorRecovery(idempotencyKey, (key) => stripe.refunds.create(params, { idempotencyKey: key, ...ONE_TRY }))
            : await stripe.refunds.create(params, { idempotencyKey });
        return toRefundSummary(refund);
      }),

    /**
     * A customer portal session: its `url` opens Stripe's hosted portal, where the customer can
     * cancel at period end, resume, or lower the quantity from the next period. Every change comes
     * back as `customer.subscription.updated` (and `customer.subscription.deleted` at the end).
     */
    createPortalSession: ({ customerId, returnUrl }: { customerId: string; returnUrl: string }) =>
      call(async () => {
        const session = await stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl });
        return { id: session.id, url: session.url };
      }),

    retrieveInvoice: (id: string) => call(async () => toInvoiceDetails(await stripe.invoices.retrieve(id))),

    /**
     * Voids an open invoice so that it can never be paid, and deletes a draft (Stripe cannot void
     * one; deleted, nobody can finalize and collect it later); one already paid or void is answered
     * as it is.
     */
    voidInvoice: ({ invoiceId, idempotencyKey }: { invoiceId: string; idempotencyKey: string }) =>
      call(async () => {
        const invoice = await stripe.invoices.retrieve(invoiceId);
        if (invoice.status === "draft") {
          await stripe.invoices.del(invoiceId);
          return { ...toInvoiceDetails(invoice), voided: true };
        }
        if (invoice.status !== "open") return toInvoiceDetails(invoice);
        return toInvoiceDetails(
          await withReplayedErrorRecovery(idempotencyKey, async (key, afterSpentKey) => {
            const now = afterSpentKey ? await stripe.invoices.retrieve(invoiceId) : invoice;
            return now.status === "open" ? stripe.invoices.voidInvoice(invoiceId, {}, { idempotencyKey: key, ...ONE_TRY }) : now;
          }),
        );
      }),

    /** Every paid invoice of the customer, newest first (follows pagination). */
    listPaidInvoices: (customerId: string) => call(async () => (await listInvoices(customerId, "paid")).map(toPaidInvoice)),

    /** Verifies the raw body against `Stripe-Signature`; throws WebhookSignatureError when it does not match. */
    constructEvent: (rawBody: string, signature: string | undefined): Stripe.Event => {
      if (!signature) throw new WebhookSignatureError("Missing Stripe-Signature header.");
      try {
        return stripe.webhooks.constructEvent(rawBody, signature, webhookSecret);
      } catch (error) {
        const message = error instanceof Error ? error.message : "Invalid webhook signature.";
        throw new WebhookSignatureError(message, { cause: error });
      }
    },
  };
}

function hostConfig(apiBase: string | null): { host?: string; port?: number; protocol?: "http" | "https" } {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === "http" ? 80 : 443, protocol };
}

function checkoutParams(input: CreateCheckoutSessionInput): Stripe.Checkout.SessionCreateParams {
  const lineItem: Stripe.Checkout.SessionCreateParams.LineItem = {
    quantity: input.quantity,
    price_data: {
      currency: input.currency,
      unit_amount: input.unitAmount,
      product_data: { name: input.productName },
      ...(input.mode === "subscription" ? { recurring: { interval: "month" as const } } : {}),
    },
  };
  const common = {
    customer: input.customerId,
    line_items: [lineItem],
    metadata: input.metadata,
    success_url: input.successUrl,
    cancel_url: input.cancelUrl,
    ...(input.clientReferenceId ? { client_reference_id: input.clientReferenceId } : {}),
  };
  if (input.mode === "subscription") {
    return { ...common, mode: "subscription", subscription_data: { metadata: input.metadata } };
  }
  return {
    ...common,
    mode: "payment",
    invoice_creation: { enabled: true, invoice_data: { description: `${input.quantity} × ${input.productName}`, metadata: input.metadata } },
    payment_intent_data: { metadata: input.metadata },
  };
}

function idOf(value: string | { id: string } | null): string | null {
  if (value === null) return null;
  return typeof value === "string" ? value : value.id;
}

function toCheckoutSummary(session: Stripe.Checkout.Session): CheckoutSessionSummary {
  return {
    id: session.id,
    url: session.url,
    mode: session.mode === "subscription" ? "subscription" : "payment",
    status: sessionStatus(session.status),
    paymentStatus: sessionPaymentStatus(session.payment_status),
    customerId: idOf(session.customer),
    subscriptionId: idOf(session.subscription),
    invoiceId: idOf(session.invoice),
    paymentIntentId: idOf(session.payment_intent),
    amountTotal: session.amount_total,
    currency: session.currency,
    metadata: { ...(session.metadata ?? {}) },
    clientReferenceId: session.client_reference_id,
  };
}

function sessionStatus(status: Stripe.Checkout.Session.Status | null): CheckoutSessionSummary["status"] {
  if (status === "open") return "open";
  if (status === "complete") return "complete";
  if (status === "expired") return "expired";
  return null;
}

function sessionPaymentStatus(status: Stripe.Checkout.Session.PaymentStatus): CheckoutSessionSummary["paymentStatus"] {
  if (status === "paid") return "paid";
  if (status === "no_payment_required") return "no_payment_required";
  return "unpaid";
}

function firstItem(subscription: Stripe.Subscription): Stripe.SubscriptionItem {
  const item = subscription.items.data[0];
  if (!item) {
    throw new StripeRequestError({ message: `Subscription ${subscription.id} has no items.`, status: null, stripeCode: null });
  }
  return item;
}

function fromUnix(seconds: number): Date {
  return new Date(seconds * 1000);
}

function scheduledQuantityOf(subscription: Stripe.Subscription, item: Stripe.SubscriptionItem): number | null {
  const schedule = subscription.schedule;
  if (schedule === null || typeof schedule === "string" || schedule.status !== "active") return null;
  const next = schedule.phases.find((phase) => phase.start_date >= item.current_period_end);
  const quantity = next?.items[0]?.quantity;
  return quantity === undefined || quantity === item.quantity ? null : quantity;
}

function toSubscriptionSummary(subscription: Stripe.Subscription): SubscriptionSummary {
  const item = firstItem(subscription);
  return {
    id: subscription.id,
    customerId: idOf(subscription.customer) ?? "",
    status: subscription.status,
    quantity: item.quantity ?? 1,
    itemId: item.id,
    unitAmount: item.price.unit_amount,
    currency: subscription.currency,
    currentPeriodStart: fromUnix(item.current_period_start),
    currentPeriodEnd: fromUnix(item.current_period_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    canceledAt: subscription.canceled_at === null ? null : fromUnix(subscription.canceled_at),
    scheduledQuantity: scheduledQuantityOf(subscription, item),
    latestInvoiceId: idOf(subscription.latest_invoice),
    metadata: { ...subscription.metadata },
  };
}

function describeInvoice(invoice: Stripe.Invoice): string {
  const mainLine = invoice.lines.data.find((line) => line.amount > 0) ?? invoice.lines.data[0];
  return invoice.description ?? mainLine?.description ?? `Invoice ${invoice.number ?? invoice.id}`;
}

function toInvoiceDetails(invoice: Stripe.Invoice): InvoiceDetails {
  const subscriptionDetails = invoice.parent?.subscription_details ?? null;
  const firstLine = invoice.lines.data[0];
  const paidAt = invoice.status_transitions.paid_at;
  return {
    id: invoice.id,
    number: invoice.number,
    customerId: idOf(invoice.customer),
    subscriptionId: subscriptionDetails ? idOf(subscriptionDetails.subscription) : null,
    subscriptionMetadata: { ...(subscriptionDetails?.metadata ?? {}) },
    billingReason: invoice.billing_reason,
    periodStart: fromUnix(firstLine?.period.start ?? invoice.period_start),
    periodEnd: fromUnix(firstLine?.period.end ?? invoice.period_end),
    quantity: firstLine?.quantity ?? null,
    paid: invoice.status === "paid",
    voided: invoice.status === "void",
    paidAt: paidAt === null ? null : fromUnix(paidAt),
    total: invoice.total,
    amountPaid: invoice.amount_paid,
    currency: invoice.currency,
    description: describeInvoice(invoice),
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    metadata: { ...(invoice.metadata ?? {}) },
  };
}

function toCustomerSummary(customer: Stripe.Customer): CustomerSummary {
  return {
    id: customer.id,
    defaultPaymentMethodId: idOf(customer.invoice_settings.default_payment_method),
    metadata: { ...customer.metadata },
  };
}

function toPaymentIntentSummary(paymentIntent: Stripe.PaymentIntent): PaymentIntentSummary {
  return {
    id: paymentIntent.id,
    status: paymentIntent.status,
    amount: paymentIntent.amount,
    amountReceived: paymentIntent.amount_received,
    currency: paymentIntent.currency,
    customerId: idOf(paymentIntent.customer),
    paymentMethodId: idOf(paymentIntent.payment_method),
    metadata: { ...paymentIntent.metadata },
  };
}

function toRefundSummary(refund: Stripe.Refund): RefundSummary {
  return {
    id: refund.id,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    chargeId: idOf(refund.charge),
    paymentIntentId: idOf(refund.payment_intent),
  };
}

function toPaidInvoice(invoice: Stripe.Invoice): PaidInvoice {
  const subscriptionDetails = invoice.parent?.subscription_details ?? null;
  const mainLine = invoice.lines.data.find((line) => line.amount > 0) ?? invoice.lines.data[0];
  return {
    facts: {
      billingReason: invoice.billing_reason,
      subscriptionId: subscriptionDetails ? idOf(subscriptionDetails.subscription) : null,
      metadata: { ...(subscriptionDetails?.metadata ?? {}), ...(invoice.metadata ?? {}) },
      quantity: mainLine?.quantity ?? null,
      periodEnd: mainLine ? fromUnix(mainLine.period.end) : null,
    },
    id: invoice.id,
    number: invoice.number,
    paidAt: fromUnix(invoice.status_transitions.paid_at ?? invoice.created),
    description: describeInvoice(invoice),
    total: { amount: invoice.amount_paid, currency: invoice.currency },
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
  };
}

/** How many keys one step may spend on Stripe's saved 500s before it is left to wait like any outage. */
const SPENT_KEYS_MAX = 10;

/**
 * No SDK retry of a step under withReplayedErrorRecovery: a fresh 500 comes back as itself, not as
 * its replay (the retry would be answered Stripe's saved 500), so one call spends at most one key.
 * The retry the SDK made of a conflict (409, or `Stripe-Should-Retry: true`) is made there.
 */
const ONE_TRY = { maxNetworkRetries: 0 } as const;
/** The SDK's own wait before its retry. */
const CONFLICT_RETRY_MS = 500;

/**
 * Stripe saves the answer of a request whose execution began under its idempotency key, a 500 of
 * its own included, and replays it (`Idempotent-Replayed: true`) to every retry with that key for
 * at least 24 hours: such a key is spent, and its step was not carried out. For a step on an
 * object that already exists, whose effect Stripe's own state makes happen at most once (finalize,
 * pay or void an invoice; set a subscription's quantity; expire a Checkout Session), the step goes
 * on with the next key of a fixed chain (`key`, `key:2`, `key:3`, ...), so every later call walks
 * the same keys and is answered the same. `attempt` gets each key, and whether an earlier one was spent: it then reads
 * the object again and sends the step only if it is still needed. A fresh 500 (not a replay) ends
 * the call like any outage: the next call finds out whether Stripe saved it. A step that creates an
 * object may be on the chain only if an object its spent key's request may have made all the same can
 * do nothing: a whole refund (Stripe refuses to refund a charge twice); the item of a purchase's own
 * draft (its lines tell whether it is there, read before the first key too, as finalize and pay read
 * the invoice's status: a key is remembered 24 hours only, and a call made later must not repeat the
 * step); that draft (nothing but its purchase charges it; recorded on the purchase, it is never asked
 * of its key again); a Checkout Session (a saved 500 gave nobody its URL, so it cannot be paid, expires
 * by itself, and its events name no purchase of ours); and a group's customer (one with nothing on it
 * bills nothing, and the group keeps the first it recorded). Every caller walks the same keys, so
 * concurrent retries end on the same object.
 */
async function withReplayedErrorRecovery<T>(keyBase: string, attempt: (key: string, afterSpentKey: boolean) => Promise<T>): Promise<T> {
  let conflictRetried = false;
  for (let n = 1; ; ) {
    try {
      return await attempt(n === 1 ? keyBase : `${keyBase}:${n}`, n > 1);
    } catch (error) {
      if (isReplayedServerError(error) && n < SPENT_KEYS_MAX) {
        n++;
      } else if (isConflict(error) && !conflictRetried) {
        conflictRetried = true;
        await new Promise((resolve) => setTimeout(resolve, CONFLICT_RETRY_MS));
      } else {
        throw error;
      }
    }
  }
}

function headerOf(error: InstanceType<typeof Stripe.errors.StripeError>, name: string): unknown {
  const headers: Record<string, unknown> = error.headers ?? {};
  return headers[name];
}

function isReplayedServerError(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500 && headerOf(error, "idempotent-replayed") === "true";
}

/** What the SDK retries short of a 5xx: a 409 conflict, or an answer Stripe marks as worth retrying (a lock timeout). */
function isConflict(error: unknown): boolean {
  if (!(error instanceof Stripe.errors.StripeError) || (error.statusCode ?? 0) >= 500 || headerOf(error, "stripe-should-retry") === "false") return false;
  return error.statusCode === 409 || headerOf(error, "stripe-should-retry") === "true";
}

/** Runs one gateway call under a hard deadline and turns SDK errors into our own. */
async function withDeadline<T>({ operation, timeoutMs }: { operation: () => Promise<T>; timeoutMs: number }): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BillingUnavailableError(`Stripe did not answer within ${timeoutMs} ms.`, { outcomeUnknown: true })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([operation().catch(translateError), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Errors that happen before a request leaves this machine: Stripe cannot have acted on it. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ERR_INVALID_URL"]);

function refusedBeforeSending(error: InstanceType<typeof Stripe.errors.StripeConnectionError>): boolean {
  const detail = error.detail;
  const code = typeof detail === "object" && detail !== null && "code" in detail ? (detail as { code?: unknown }).code : undefined;
  return typeof code === "string" && NOT_SENT_CODES.has(code);
}

function translateError(error: unknown): never {
  if (error instanceof BillingUnavailableError || error instanceof StripeRequestError || error instanceof CardDeclinedError || error instanceof CustomerDeletedError) throw error;
  // "No such customer" for the customer a request names: it was deleted at Stripe (its dashboard).
  if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === "resource_missing" && error.param === "customer") {
    throw new CustomerDeletedError(error.message, { cause: error });
  }
  if (error instanceof Stripe.errors.StripeCardError) {
    throw new CardDeclinedError({
      message: error.message,
      declineCode: error.decline_code ?? error.code ?? null,
      paymentIntentId: error.payment_intent?.id ?? null,
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeConnectionError) {
    throw new BillingUnavailableError(`Stripe is unavailable: ${error.message}`, { cause: error, outcomeUnknown: !refusedBeforeSending(error) });
  }
  if (error instanceof Stripe.errors.StripeError) {
    const status = error.statusCode ?? null;
    const unavailable =
      error instanceof Stripe.errors.StripeConnectionError ||
      error instanceof Stripe.errors.StripeAPIError ||
      error instanceof Stripe.errors.StripeRateLimitError ||
      status === null ||
      status >= 500;
    if (unavailable) throw new BillingUnavailableError(`Stripe is unavailable: ${error.message}`, { cause: error });
    throw new StripeRequestError({ message: error.message, status, stripeCode: error.code ?? null, cause: error });
  }
  throw new BillingUnavailableError("Stripe call failed unexpectedly.", { cause: error });
}
