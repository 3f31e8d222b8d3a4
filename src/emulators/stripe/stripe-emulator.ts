import { createHash, randomBytes } from "node:crypto";
import { Hono, type Context, type Next } from "hono";
import type Stripe from "stripe";
import { CONTROL_TOKEN_FIELD, newControlToken, requireControlToken, sameSecret } from "../shared/control-token.js";
import { createHangGate } from "../shared/fault-gate.js";
import { listen } from "../shared/http-server.js";
import { createJsonStateFile } from "../shared/json-state-file.js";
import { answerError, createApiRoutes } from "./api-routes.js";
import { createPortalRoutes } from "./portal-routes.js";
import {
  advanceSubscription as advanceSubscriptionInEngine,
  completeCheckoutSession,
  importPaidInvoice,
  type HistoricalInvoiceInput,
  findCheckout,
  findInvoice,
  type BillingEngineContext,
} from "./billing-engine.js";
import { declineNextCharges } from "./payments-engine.js";
import { emptyState, StripeApiError, upgradeState, type StripeEmulatorState } from "./emulator-state.js";
import { renderCheckoutPage, renderDashboardPage, renderHomePage, renderInvoicePage, renderNotFoundPage } from "./hosted-pages.js";
import { buildEvent, type EmittedEvent } from "./stripe-objects.js";
import { createWebhookSender } from "./webhook-sender.js";

/**
 * `hang`: requests are held and never carried out; `lose-answers`: requests are carried out, but their
 * answers are held until the mode ends (a timeout after the request was sent: the client cannot know).
 */
export type StripeFaultMode = "none" | "error" | "hang" | "lose-answers";

/**
 * A fault of one kind of API request (e.g. `POST /v1/invoices/:id/void`), for tests of one step of
 * a flow: `error` answers Stripe's 500 without carrying the request out, before its execution
 * began (nothing saved under its idempotency key); `error-saved` answers a 500 from Stripe's own
 * failure after execution began, which Stripe saves under the request's idempotency key and
 * replays (`Idempotent-Replayed: true`) to every later request with that key, even once the
 * fault is cleared, while the operation itself did not take effect; `hold` keeps it waiting until
 * the fault is cleared, then carries it out, its answer too late for the caller (a request that
 * reached Stripe while its answer was lost).
 */
export interface StripeRequestFault {
  method: "GET" | "POST" | "DELETE";
  /** Matched against the request's path, e.g. /^\/v1\/invoices\/[^/]+\/void$/. */
  path: RegExp;
  mode: "error" | "error-saved" | "hold";
}

export interface StripeEmulatorOptions {
  port: number;
  dataDir: string | null;
  webhookUrl: string | null;
  webhookSecret: string;
  /** Base URL used in checkout and invoice links; defaults to the listening address. */
  publicUrl?: string;
  /** Secret for `/_emulator/*` (header `x-emulator-control-token`); a random one per run by default. */
  controlToken?: string;
}

export interface StripeEmulator {
  url: string;
  /** The per-run token `/_emulator/*` requires. */
  controlToken: string;
  /** The dashboard (subscriptions with "Advance to next period", recent invoices), token included. */
  dashboardUrl: string;
  close(): Promise<void>;
  setFault(mode: StripeFaultMode): void;
  /** Faults the requests `fault` matches, until set again; null clears it and carries out the held requests, one at a time. */
  setRequestFault(fault: StripeRequestFault | null): void;
  /** How many requests a `hold` fault keeps waiting now. */
  heldRequests(): number;
  /**
   * Forgets every idempotency key, as Stripe does 24 hours after a key's first request: a request
   * sent again with a key answered before is carried out anew (a create makes another object).
   */
  forgetIdempotencyKeys(): void;
  advanceSubscription(id: string): Promise<void>;
  setWebhookUrl(url: string | null): void;
  events(): Stripe.Event[];
  redeliver(eventId: string): Promise<void>;
  payCheckoutSession(id: string): Promise<void>;
  /** Declines the customer's next `count` off-session charges (invoices, PaymentIntents, renewals); 0 clears it. */
  declineNextCharges(customerId: string, count?: number): Promise<void>;
  /** Paid invoices from the past (demo history, benchmarks); emits no events. Resolves to their ids. */
  importPaidInvoices(invoices: HistoricalInvoiceInput[]): Promise<string[]>;
}

export const STRIPE_EMULATOR_STATE_FILE = "stripe-emulator.json";

export async function startStripeEmulator(options: StripeEmulatorOptions): Promise<StripeEmulator> {
  const stateFile = createJsonStateFile<StripeEmulatorState>({ dataDir: options.dataDir, fileName: STRIPE_EMULATOR_STATE_FILE });
  const loaded = stateFile.load();
  const state = loaded ? upgradeState(loaded) : emptyState();
  let webhookUrl = options.webhookUrl;
  let fault: StripeFaultMode = "none";
  let publicUrl = options.publicUrl ?? "";
  const hangGate = createHangGate();
  const webhooks = createWebhookSender({
    getUrl: () => webhookUrl,
    secret: options.webhookSecret,
    onFailure: ({ eventId, attempts, reason }) =>
      console.warn(`[stripe-emulator] gave up delivering ${eventId} after ${attempts} attempts: ${reason}`),
  });
  const undelivered: Stripe.Event[] = [];
  const setFault = (mode: StripeFaultMode) => {
    fault = mode;
    if (mode !== "hang" && mode !== "lose-answers") hangGate.releaseAll();
  };
  const requestFault = createRequestFault();

  const ctx: BillingEngineContext = {
    state,
    publicUrl: () => publicUrl,
    emit: (emitted: EmittedEvent) => {
      const event = buildEvent({ emitted, pendingWebhooks: webhookUrl ? 1 : 0, idempotencyKey: null });
      state.events.push(event);
      undelivered.push(event);
    },
  };

  /** Saves the state, then sends the events the last operation produced. */
  const commit = () => {
    stateFile.save(state);
    for (const event of undelivered.splice(0)) void webhooks.deliver(event);
  };

  const controlToken = options.controlToken ?? newControlToken();
  const app = new Hono();
  app.use("/_emulator/*", requireControlToken(controlToken));
  app.use("/v1/*", faultMiddleware({ getFault: () => fault, hangGate }));
  app.use("/v1/*", requestFault.middleware);
  app.use("/v1/*", authMiddleware);
  app.use("/v1/*", idempotencyMiddleware({ state, commit, savesServerError: requestFault.failedAfterExecutionBegan }));
  app.use("/v1/*", requestFault.afterExecutionBegan);
  app.route("/v1", createApiRoutes({ ctx, commit }));
  app.route("/p", createPortalRoutes({ ctx, commit }));
  app.route("/", createHostedRoutes({ ctx, commit }));
  app.route("/_emulator", createControlRoutes({ ctx, commit, setFault, controlToken }));
  app.onError((error, c) => answerError(c, error));

  const server = await listen({ fetch: app.fetch, port: options.port });
  publicUrl = (options.publicUrl ?? server.url).replace(/\/$/, "");

  const runAndCommit = (operation: () => unknown): Promise<void> => {
    try {
      operation();
      commit();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };

  return {
    url: server.url,
    controlToken,
    dashboardUrl: `${server.url}/_emulator/dashboard?${CONTROL_TOKEN_FIELD}=${encodeURIComponent(controlToken)}`,
    async close() {
      hangGate.releaseAll();
      requestFault.set(null);
      await webhooks.close();
      await server.close();
    },
    setFault,
    setRequestFault: (fault) => requestFault.set(fault),
    heldRequests: () => requestFault.held(),
    forgetIdempotencyKeys: () => {
      state.idempotency = {};
      commit();
    },
    advanceSubscription: (id) => runAndCommit(() => advanceSubscriptionInEngine(ctx, id)),
    payCheckoutSession: (id) => runAndCommit(() => completeCheckoutSession(ctx, id)),
    declineNextCharges: (customerId, count = 1) => runAndCommit(() => declineNextCharges(ctx, { customerId, count })),
    importPaidInvoices: async (invoices) => {
      const ids: string[] = [];
      await runAndCommit(() => invoices.forEach((input) => ids.push(importPaidInvoice(ctx, input).id)));
      return ids;
    },
    setWebhookUrl: (url) => {
      webhookUrl = url;
    },
    events: () => structuredClone(state.events),
    redeliver: async (eventId) => {
      const event = state.events.find((candidate) => candidate.id === eventId);
      if (!event) throw new Error(`No such event: ${eventId}`);
      await webhooks.deliver(event);
    },
  };
}

function faultMiddleware({ getFault, hangGate }: { getFault: () => StripeFaultMode; hangGate: ReturnType<typeof createHangGate> }) {
  return async (c: Context, next: Next) => {
    const fault = getFault();
    if (fault === "error") {
      return c.json(
        new StripeApiError({ status: 500, type: "api_error", message: "The Stripe emulator is simulating an outage." }).toBody(),
        500,
      );
    }
    if (fault === "hang") {
      await hangGate.wait();
      return c.json(new StripeApiError({ status: 503, type: "api_error", message: "The Stripe emulator stopped hanging." }).toBody(), 503);
    }
    await next();
    // Carried out (and stored under its idempotency key); the answer goes out only when the mode ends.
    if (fault === "lose-answers") await hangGate.wait();
  };
}

/**
 * The one request fault (see StripeRequestFault). Held requests are carried out one after another
 * once released, so the SDK's retry of a held request (same idempotency key) replays the first
 * one's answer instead of racing it. An `error-saved` fault fails only requests that get past the
 * idempotency middleware (a key already answered replays its answer, as at Stripe), and tells that
 * middleware to save its 500.
 */
function createRequestFault() {
  let current: StripeRequestFault | null = null;
  const gate = createHangGate();
  let held = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const savedErrors = new WeakSet<Request>();
  const matches = (c: Context, fault: StripeRequestFault | null): fault is StripeRequestFault =>
    fault !== null && c.req.method === fault.method && fault.path.test(c.req.path);
  const oneAtATime = (run: () => Promise<void>) => {
    const done = queue.then(run);
    queue = done.catch(() => undefined);
    return done;
  };
  const middleware = async (c: Context, next: Next) => {
    const fault = current;
    if (!matches(c, fault) || fault.mode === "error-saved") return next();
    if (fault.mode === "error") {
      return c.json(new StripeApiError({ status: 500, type: "api_error", message: "The Stripe emulator failed this request (a test fault)." }).toBody(), 500);
    }
    held++;
    try {
      await gate.wait();
    } finally {
      held--;
    }
    await oneAtATime(next);
  };
  const afterExecutionBegan = async (c: Context, next: Next) => {
    if (!matches(c, current) || current.mode !== "error-saved") return next();
    savedErrors.add(c.req.raw);
    return c.json(
      new StripeApiError({ status: 500, type: "api_error", message: "The Stripe emulator failed this request after it began (a test fault)." }).toBody(),
      500,
    );
  };
  return {
    middleware,
    afterExecutionBegan,
    failedAfterExecutionBegan: (c: Context) => savedErrors.has(c.req.raw),
    held: () => held,
    set: (fault: StripeRequestFault | null) => {
      current = fault;
      if (fault?.mode !== "hold") gate.releaseAll();
    },
  };
}

async function authMiddleware(c: Context, next: Next) {
  const header = c.req.header("authorization") ?? "";
  const key = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  if (key === "") {
    return c.json(
      new StripeApiError({
        status: 401,
        message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      }).toBody(),
      401,
    );
  }
  if (!key.startsWith("sk_test_")) {
    return c.json(new StripeApiError({ status: 401, message: "Invalid API Key provided: the emulator accepts sk_test_ keys only." }).toBody(), 401);
  }
  await next();
}

/**
 * Same `Idempotency-Key` and same request -> the first stored answer; other request -> 400. Like
 * Stripe, a 5xx is saved only when execution had begun (`savesServerError`); one from before (an
 * outage) is not, so a retry with the key is carried out.
 */
function idempotencyMiddleware({
  state,
  commit,
  savesServerError,
}: {
  state: StripeEmulatorState;
  commit: () => void;
  savesServerError: (c: Context) => boolean;
}) {
  return async (c: Context, next: Next) => {
    const key = c.req.header("idempotency-key");
    if (c.req.method !== "POST" || !key) return next();
    const fingerprint = createHash("sha256")
      .update(`${c.req.method} ${c.req.path}\n${await c.req.text()}`)
      .digest("hex");
    const stored = state.idempotency[key];
    if (stored) {
      if (stored.fingerprint !== fingerprint) {
        return c.json(
          new StripeApiError({
            status: 400,
            type: "idempotency_error",
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          }).toBody(),
          400,
        );
      }
      c.header("Idempotent-Replayed", "true");
      return c.json(stored.body, stored.status as 200);
    }
    await next();
    if (c.res.status >= 500 && !savesServerError(c)) return;
    state.idempotency[key] = { fingerprint, status: c.res.status, body: await c.res.clone().json() };
    commit();
  };
}

function createHostedRoutes({ ctx, commit }: { ctx: BillingEngineContext; commit: () => void }): Hono {
  const pages = new Hono();
  pages.get("/checkout/:id", (c) => {
    const record = ctx.state.checkoutSessions[c.req.param("id")];
    if (!record) return c.html(renderNotFoundPage("This checkout session does not exist."), 404);
    if (!record.formToken) {
      // A session saved by an older emulator: give its page a Pay token now.
      record.formToken = randomBytes(24).toString("base64url");
      commit();
    }
    c.header("Cache-Control", "no-store");
    return c.html(renderCheckoutPage(record));
  });
  pages.post("/checkout/:id/pay", async (c) => {
    const id = c.req.param("id");
    const record = ctx.state.checkoutSessions[id];
    if (!record) return c.html(renderNotFoundPage("This checkout session does not exist."), 404);
    if (record.session.status === "expired") return c.html(renderCheckoutPage(record), 410);
    // Pay is the customer's action on this page: only a form from the page itself carries its token.
    const form = await c.req.parseBody();
    const formToken = typeof form.form_token === "string" ? form.form_token : "";
    if (!record.formToken || !sameSecret(formToken, record.formToken)) {
      return c.html(renderNotFoundPage("This payment form has expired. Open the checkout page again."), 403);
    }
    const session = completeCheckoutSession(ctx, id);
    commit();
    if (!session.success_url) return c.html(renderCheckoutPage(findCheckout(ctx, id)));
    return c.redirect(session.success_url, 303);
  });
  pages.get("/", (c) => c.html(renderHomePage()));
  pages.get("/invoices/:id", (c) => {
    const invoice = ctx.state.invoices.find((candidate) => candidate.id === c.req.param("id"));
    if (!invoice) return c.html(renderNotFoundPage("This invoice does not exist."), 404);
    return c.html(renderInvoicePage(findInvoice(ctx, invoice.id)));
  });
  return pages;
}

/** `/_emulator/*`: behind the control token (see requireControlToken). */
function createControlRoutes({
  ctx,
  commit,
  setFault,
  controlToken,
}: {
  ctx: BillingEngineContext;
  commit: () => void;
  setFault: (mode: StripeFaultMode) => void;
  controlToken: string;
}): Hono {
  const control = new Hono();
  const dashboardPath = `/_emulator/dashboard?${CONTROL_TOKEN_FIELD}=${encodeURIComponent(controlToken)}`;
  // A small dashboard, like Stripe's test clocks: move a subscription to its next period.
  control.get("/dashboard", (c) => {
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(renderDashboardPage({ state: ctx.state, controlToken }));
  });
  control.get("/subscriptions", (c) => {
    const customer = c.req.query("customer");
    const subscriptions = Object.values(ctx.state.subscriptions).filter(
      (subscription) => customer === undefined || subscription.customer === customer,
    );
    return c.json({ object: "list", data: subscriptions });
  });
  control.post("/fault", async (c) => {
    const body: unknown = await c.req.json().catch(() => null);
    const mode = typeof body === "object" && body !== null && "mode" in body ? body.mode : undefined;
    if (mode !== "none" && mode !== "error" && mode !== "hang" && mode !== "lose-answers") {
      return c.json({ error: { type: "invalid_request_error", message: 'mode must be "none", "error", "hang" or "lose-answers".' } }, 400);
    }
    setFault(mode);
    return c.json({ mode });
  });
  control.post("/subscriptions/:id/advance", (c) => {
    const subscription = advanceSubscriptionInEngine(ctx, c.req.param("id"));
    commit();
    // The dashboard's button posts a form and goes back to the dashboard; API callers get JSON.
    if ((c.req.header("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) return c.redirect(dashboardPath, 303);
    return c.json(subscription);
  });
  // The customer's card declines its next `count` (default 1) off-session charges; 0 clears it.
  control.post("/customers/:id/decline-next", async (c) => {
    const body: unknown = await c.req.json().catch(() => ({}));
    const count = typeof body === "object" && body !== null && "count" in body ? body.count : 1;
    if (typeof count !== "number") {
      return c.json({ error: { type: "invalid_request_error", message: "count must be a whole number, 0 or more." } }, 400);
    }
    declineNextCharges(ctx, { customerId: c.req.param("id"), count });
    commit();
    return c.json({ customer: c.req.param("id"), declineNext: count });
  });
  control.post("/checkout/sessions/:id/pay", (c) => {
    const session = completeCheckoutSession(ctx, c.req.param("id"));
    commit();
    return c.json(session);
  });
  return control;
}
