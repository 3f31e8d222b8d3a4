import { Hono, type Context } from "hono";
import type Stripe from "stripe";
import {
  cancelSubscription,
  createCheckoutSession,
  createCustomer,
  deleteCustomer,
  expireCheckoutSession,
  updateCustomer,
  findCheckout,
  findCustomer,
  findInvoice,
  findSubscription,
  updateSubscription,
  type BillingEngineContext,
  type CheckoutLineInput,
  type ProrationBehavior,
} from "./billing-engine.js";
import { invalidParam, resourceMissing, StripeApiError } from "./emulator-state.js";
import { createInvoice, createInvoiceItem, deleteInvoice, finalizeInvoice, payInvoice, voidInvoice, withPayments } from "./invoicing-engine.js";
import { createPaymentIntent, createRefund, findCharge, findPaymentIntent } from "./payments-engine.js";
import { createPortalSession, findSchedule, releaseScheduleById } from "./portal-engine.js";
import { applyExpand } from "./expand.js";
import { parseFormParams, readStringMap, type FormObject } from "./form-params.js";
import {
  readBoolean,
  readExpand,
  readInteger,
  readObject,
  readObjects,
  readPagination,
  readString,
  requireString,
} from "./request-params.js";
import { toApiList } from "./stripe-objects.js";

/** The `/v1` REST surface the official SDK calls, answering Stripe-shaped JSON. */
export function createApiRoutes({ ctx, commit }: { ctx: BillingEngineContext; commit: () => void }): Hono {
  const api = new Hono();

  const answer = async (c: Context, handle: (params: FormObject) => unknown, status: 200 = 200) => {
    const params = await readParams(c);
    let result: unknown;
    try {
      result = handle(params);
    } finally {
      // A refused payment still changed things (a failed charge, an attempt): keep and announce them.
      commit();
    }
    return c.json(applyExpand({ value: result, paths: readExpand(params), resolve: (id) => resolveById(ctx, id) }), status);
  };

  api.post("/customers", (c) =>
    answer(c, (params) =>
      createCustomer(ctx, {
        name: readString(params, "name") ?? null,
        email: readString(params, "email") ?? null,
        description: readString(params, "description") ?? null,
        metadata: readStringMap(params, "metadata"),
      }),
    ),
  );
  api.get("/customers/:id", (c) => answer(c, () => ctx.state.deletedCustomers[c.req.param("id")] ?? findCustomer(ctx, c.req.param("id"))));
  api.delete("/customers/:id", (c) => answer(c, () => deleteCustomer(ctx, c.req.param("id"))));
  api.post("/customers/:id", (c) =>
    answer(c, (params) => {
      const invoiceSettings = readObject(params, "invoice_settings");
      return updateCustomer(ctx, {
        id: c.req.param("id"),
        name: readString(params, "name"),
        defaultPaymentMethodId: readString(invoiceSettings, "default_payment_method"),
        metadata: readObject(params, "metadata") ? readStringMap(params, "metadata") : undefined,
      });
    }),
  );
  api.get("/customers/:id/payment_methods", (c) =>
    answer(c, () => {
      const customer = findCustomer(ctx, c.req.param("id"));
      const cards = Object.values(ctx.state.paymentMethods).filter((method) => method.customer === customer.id).reverse();
      return toApiList({ data: cards, url: `/v1/customers/${customer.id}/payment_methods` });
    }),
  );
  api.get("/payment_methods/:id", (c) =>
    answer(c, () => {
      const method = ctx.state.paymentMethods[c.req.param("id")];
      if (!method) throw resourceMissing({ kind: "payment_method", id: c.req.param("id") });
      return method;
    }),
  );

  api.post("/checkout/sessions", (c) => answer(c, (params) => createCheckoutSession(ctx, readCheckoutInput(params))));
  api.get("/checkout/sessions/:id", (c) =>
    answer(c, (params) => {
      const record = findCheckout(ctx, c.req.param("id"));
      const wantsLineItems = readExpand(params).includes("line_items");
      return wantsLineItems
        ? { ...record.session, line_items: toApiList({ data: record.lineItems, url: `/v1/checkout/sessions/${record.session.id}/line_items` }) }
        : record.session;
    }),
  );
  api.post("/checkout/sessions/:id/expire", (c) => answer(c, () => expireCheckoutSession(ctx, c.req.param("id"))));
  api.get("/checkout/sessions/:id/line_items", (c) =>
    answer(c, () => {
      const record = findCheckout(ctx, c.req.param("id"));
      return toApiList({ data: record.lineItems, url: `/v1/checkout/sessions/${record.session.id}/line_items` });
    }),
  );

  api.get("/subscriptions", (c) => answer(c, (params) => listSubscriptions(ctx, params)));
  api.get("/subscriptions/:id", (c) => answer(c, () => findSubscription(ctx, c.req.param("id"))));
  api.post("/subscriptions/:id", (c) =>
    answer(c, (params) => updateSubscription(ctx, { id: c.req.param("id"), input: readSubscriptionUpdate(params) })),
  );
  api.delete("/subscriptions/:id", (c) => answer(c, () => cancelSubscription(ctx, c.req.param("id"))));

  api.get("/subscription_schedules/:id", (c) => answer(c, () => findSchedule(ctx, c.req.param("id"))));
  api.post("/subscription_schedules/:id/release", (c) => answer(c, () => releaseScheduleById(ctx, c.req.param("id"))));

  api.post("/billing_portal/sessions", (c) =>
    answer(c, (params) =>
      createPortalSession(ctx, { customerId: requireString(params, "customer"), returnUrl: readString(params, "return_url") ?? null }),
    ),
  );

  api.get("/invoices", (c) => answer(c, (params) => listInvoices(ctx, params)));
  api.get("/invoices/:id", (c) =>
    answer(c, (params) => {
      const invoice = findInvoice(ctx, c.req.param("id"));
      return readExpand(params).some((path) => path === "payments" || path.startsWith("payments.")) ? withPayments(ctx, invoice) : invoice;
    }),
  );
  api.post("/invoices", (c) => answer(c, (params) => createInvoice(ctx, readInvoiceInput(params))));
  api.post("/invoices/:id/finalize", (c) => answer(c, () => finalizeInvoice(ctx, c.req.param("id"))));
  api.post("/invoices/:id/pay", (c) =>
    answer(c, (params) => payInvoice(ctx, { id: c.req.param("id"), paymentMethodId: readString(params, "payment_method") ?? null })),
  );
  api.post("/invoices/:id/void", (c) => answer(c, () => voidInvoice(ctx, c.req.param("id"))));
  api.delete("/invoices/:id", (c) => answer(c, () => deleteInvoice(ctx, c.req.param("id"))));
  api.get("/invoice_payments", (c) =>
    answer(c, (params) => {
      const invoiceId = requireString(params, "invoice");
      findInvoice(ctx, invoiceId);
      return toApiList({ data: [...(ctx.state.invoicePayments[invoiceId] ?? [])].reverse(), url: "/v1/invoice_payments" });
    }),
  );

  api.post("/invoiceitems", (c) => answer(c, (params) => createInvoiceItem(ctx, readInvoiceItemInput(params))));
  api.get("/invoiceitems/:id", (c) =>
    answer(c, () => {
      const item = ctx.state.invoiceItems[c.req.param("id")];
      if (!item) throw resourceMissing({ kind: "invoiceitem", id: c.req.param("id") });
      return item;
    }),
  );

  api.post("/payment_intents", (c) =>
    answer(c, (params) =>
      createPaymentIntent(ctx, {
        customerId: requireString(params, "customer"),
        amount: readInteger(params, "amount") ?? 0,
        currency: requireString(params, "currency").toLowerCase(),
        paymentMethodId: readString(params, "payment_method") ?? null,
        description: readString(params, "description") ?? null,
        metadata: readStringMap(params, "metadata"),
        confirm: readBoolean(params, "confirm") ?? false,
        offSession: readBoolean(params, "off_session") ?? false,
      }),
    ),
  );
  api.get("/payment_intents/:id", (c) => answer(c, () => findPaymentIntent(ctx, c.req.param("id"))));
  api.get("/charges/:id", (c) => answer(c, () => findCharge(ctx, c.req.param("id"))));

  api.post("/refunds", (c) =>
    answer(c, (params) => {
      const reason = readString(params, "reason") ?? null;
      if (reason !== null && reason !== "duplicate" && reason !== "fraudulent" && reason !== "requested_by_customer") {
        throw invalidParam({ param: "reason", message: `Invalid reason: ${reason}` });
      }
      return createRefund(ctx, {
        chargeId: readString(params, "charge") ?? null,
        paymentIntentId: readString(params, "payment_intent") ?? null,
        amount: readInteger(params, "amount") ?? null,
        reason,
        metadata: readStringMap(params, "metadata"),
      });
    }),
  );
  api.get("/refunds/:id", (c) =>
    answer(c, () => {
      const refund = ctx.state.refunds[c.req.param("id")];
      if (!refund) throw resourceMissing({ kind: "refund", id: c.req.param("id") });
      return refund;
    }),
  );

  api.get("/events", (c) => answer(c, (params) => listEvents(ctx, params)));
  api.get("/events/:id", (c) =>
    answer(c, () => {
      const event = ctx.state.events.find((candidate) => candidate.id === c.req.param("id"));
      if (!event) throw resourceMissing({ kind: "event", id: c.req.param("id") });
      return event;
    }),
  );

  api.onError((error, c) => answerError(c, error));
  api.notFound((c) =>
    c.json(
      new StripeApiError({ status: 404, message: `Unrecognized request URL (${c.req.method}: ${c.req.path}).` }).toBody(),
      404,
    ),
  );
  return api;
}

/** Stripe-shaped error body; anything unexpected becomes a plain `api_error` 500. */
export function answerError(c: Context, error: unknown): Response {
  const apiError =
    error instanceof StripeApiError
      ? error
      : new StripeApiError({ status: 500, type: "api_error", message: "An unexpected error occurred in the Stripe emulator." });
  if (!(error instanceof StripeApiError)) console.warn("[stripe-emulator] unexpected error", error);
  return c.json(apiError.toBody(), apiError.status as 400);
}

export async function readParams(c: Context): Promise<FormObject> {
  const query = new URL(c.req.url).search.slice(1);
  if (c.req.method === "GET") return parseFormParams(query);
  const body = await c.req.text();
  return parseFormParams(body === "" ? query : body);
}

function resolveById(ctx: BillingEngineContext, id: string): unknown {
  if (id.startsWith("cus_")) return ctx.state.customers[id];
  if (id.startsWith("pi_")) return ctx.state.paymentIntents[id];
  if (id.startsWith("ch_")) return ctx.state.charges[id];
  if (id.startsWith("pm_")) return ctx.state.paymentMethods[id];
  if (id.startsWith("ii_")) return ctx.state.invoiceItems[id];
  if (id.startsWith("re_")) return ctx.state.refunds[id];
  if (id.startsWith("sub_sched_")) return ctx.state.subscriptionSchedules[id];
  if (id.startsWith("sub_")) return ctx.state.subscriptions[id];
  if (id.startsWith("in_")) return ctx.state.invoices.find((invoice) => invoice.id === id);
  if (id.startsWith("cs_")) return ctx.state.checkoutSessions[id]?.session;
  return undefined;
}

function readCheckoutInput(params: FormObject) {
  const mode = requireString(params, "mode");
  if (mode !== "payment" && mode !== "subscription") {
    throw invalidParam({ param: "mode", message: `Invalid mode: must be one of payment or subscription (the emulator does not support ${mode}).` });
  }
  const invoiceCreation = readObject(params, "invoice_creation");
  const invoiceData = readObject(invoiceCreation, "invoice_data");
  return {
    mode,
    customerId: readString(params, "customer") ?? null,
    lines: readObjects(params, "line_items").map(readCheckoutLine),
    metadata: readStringMap(params, "metadata"),
    clientReferenceId: readString(params, "client_reference_id") ?? null,
    successUrl: readString(params, "success_url") ?? null,
    cancelUrl: readString(params, "cancel_url") ?? null,
    subscriptionMetadata: readStringMap(readObject(params, "subscription_data"), "metadata"),
    invoiceCreation: invoiceCreation
      ? {
          enabled: readBoolean(invoiceCreation, "enabled", "invoice_creation[enabled]") ?? false,
          description: readString(invoiceData, "description") ?? null,
          metadata: readStringMap(invoiceData, "metadata"),
        }
      : null,
  } as const;
}

function readInvoiceInput(params: FormObject) {
  const behavior = readString(params, "pending_invoice_items_behavior") ?? "exclude";
  if (behavior !== "include" && behavior !== "exclude") {
    throw invalidParam({ param: "pending_invoice_items_behavior", message: `Invalid pending_invoice_items_behavior: ${behavior}` });
  }
  const collection = readString(params, "collection_method") ?? "charge_automatically";
  if (collection !== "charge_automatically") {
    throw invalidParam({ param: "collection_method", message: "The emulator supports collection_method=charge_automatically only." });
  }
  return {
    customerId: requireString(params, "customer"),
    currency: readString(params, "currency") ?? null,
    pendingInvoiceItemsBehavior: behavior,
    autoAdvance: readBoolean(params, "auto_advance") ?? null,
    description: readString(params, "description") ?? null,
    metadata: readStringMap(params, "metadata"),
    defaultPaymentMethodId: readString(params, "default_payment_method") ?? null,
  } as const;
}

function readInvoiceItemInput(params: FormObject) {
  const priceData = readObject(params, "price_data");
  const decimal = readString(params, "unit_amount_decimal") ?? readString(priceData, "unit_amount_decimal");
  if (decimal !== undefined && !/^\d+$/.test(decimal)) {
    throw invalidParam({ param: "unit_amount_decimal", message: "The emulator supports whole minor units in unit_amount_decimal only." });
  }
  const unitAmount = readInteger(priceData, "unit_amount", "price_data[unit_amount]") ?? (decimal === undefined ? undefined : Number(decimal));
  const period = readObject(params, "period");
  return {
    customerId: requireString(params, "customer"),
    currency: readString(params, "currency") ?? readString(priceData, "currency") ?? null,
    amount: readInteger(params, "amount") ?? null,
    unitAmount: unitAmount ?? null,
    quantity: readInteger(params, "quantity") ?? null,
    description: readString(params, "description") ?? null,
    metadata: readStringMap(params, "metadata"),
    invoiceId: readString(params, "invoice") ?? null,
    period: period
      ? { start: readInteger(period, "start", "period[start]") ?? 0, end: readInteger(period, "end", "period[end]") ?? 0 }
      : null,
  };
}

function readCheckoutLine(line: FormObject, index: number): CheckoutLineInput {
  const prefix = `line_items[${index}]`;
  const priceData = readObject(line, "price_data");
  if (!priceData) {
    throw invalidParam({ param: `${prefix}[price_data]`, message: "The emulator supports line items with price_data only." });
  }
  const interval = readString(readObject(priceData, "recurring"), "interval") ?? null;
  if (interval !== null && interval !== "day" && interval !== "week" && interval !== "month" && interval !== "year") {
    throw invalidParam({ param: `${prefix}[price_data][recurring][interval]`, message: `Invalid interval: ${interval}` });
  }
  const unitAmount = readInteger(priceData, "unit_amount", `${prefix}[price_data][unit_amount]`);
  if (unitAmount === undefined) throw invalidParam({ param: `${prefix}[price_data][unit_amount]`, message: "Missing unit_amount." });
  return {
    currency: requireString(priceData, "currency", `${prefix}[price_data][currency]`).toLowerCase(),
    unitAmount,
    productName: requireString(readObject(priceData, "product_data"), "name", `${prefix}[price_data][product_data][name]`),
    interval,
    quantity: readInteger(line, "quantity", `${prefix}[quantity]`) ?? 1,
  };
}

function readSubscriptionUpdate(params: FormObject) {
  const item = readObjects(params, "items")[0];
  const proration = readString(params, "proration_behavior") ?? "create_prorations";
  if (proration !== "always_invoice" && proration !== "create_prorations" && proration !== "none") {
    throw invalidParam({ param: "proration_behavior", message: `Invalid proration_behavior: ${proration}` });
  }
  const prorationBehavior: ProrationBehavior = proration;
  return {
    item: item
      ? { id: readString(item, "id"), quantity: readInteger(item, "quantity", "items[0][quantity]") }
      : null,
    prorationBehavior,
    cancelAtPeriodEnd: readBoolean(params, "cancel_at_period_end"),
    metadata: readObject(params, "metadata") ? readStringMap(params, "metadata") : undefined,
  };
}

/** Newest first, with Stripe's cursor pagination. */
function paginate<T extends { id: string }>({
  itemsNewestFirst,
  params,
  url,
}: {
  itemsNewestFirst: T[];
  params: FormObject;
  url: string;
}): Stripe.ApiList<T> {
  const { limit, startingAfter, endingBefore } = readPagination(params);
  let start = 0;
  let end = itemsNewestFirst.length;
  if (startingAfter) {
    const index = itemsNewestFirst.findIndex((item) => item.id === startingAfter);
    if (index < 0) throw resourceMissing({ kind: "object", id: startingAfter, param: "starting_after" });
    start = index + 1;
  } else if (endingBefore) {
    const index = itemsNewestFirst.findIndex((item) => item.id === endingBefore);
    if (index < 0) throw resourceMissing({ kind: "object", id: endingBefore, param: "ending_before" });
    end = index;
    start = Math.max(0, end - limit);
  }
  const page = itemsNewestFirst.slice(start, Math.min(end, start + limit));
  return toApiList({ data: page, url, hasMore: start + page.length < end });
}

function listInvoices(ctx: BillingEngineContext, params: FormObject): Stripe.ApiList<Stripe.Invoice> {
  const customer = readString(params, "customer");
  const status = readString(params, "status");
  const subscription = readString(params, "subscription");
  const matching = ctx.state.invoices.filter(
    (invoice) =>
      (customer === undefined || invoice.customer === customer) &&
      (status === undefined || invoice.status === status) &&
      (subscription === undefined || invoice.parent?.subscription_details?.subscription === subscription),
  );
  return paginate({ itemsNewestFirst: [...matching].reverse(), params, url: "/v1/invoices" });
}

function listSubscriptions(ctx: BillingEngineContext, params: FormObject): Stripe.ApiList<Stripe.Subscription> {
  const customer = readString(params, "customer");
  const status = readString(params, "status");
  const matching = Object.values(ctx.state.subscriptions).filter(
    (subscription) =>
      (customer === undefined || subscription.customer === customer) &&
      (status === "all" || (status === undefined ? subscription.status !== "canceled" : subscription.status === status)),
  );
  return paginate({ itemsNewestFirst: [...matching].reverse(), params, url: "/v1/subscriptions" });
}

function listEvents(ctx: BillingEngineContext, params: FormObject): Stripe.ApiList<Stripe.Event> {
  const type = readString(params, "type");
  const matching = ctx.state.events.filter((event) => type === undefined || event.type === type);
  return paginate({ itemsNewestFirst: [...matching].reverse(), params, url: "/v1/events" });
}
