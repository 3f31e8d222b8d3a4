import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { findSubscription, updateSubscription, type BillingEngineContext } from "./billing-engine.js";
import { StripeApiError } from "./emulator-state.js";
import { renderNotFoundPage } from "./hosted-pages.js";
import { findPortal, scheduledQuantity, scheduleQuantityChange } from "./portal-engine.js";
import { renderPortalPage, type PortalNotice } from "./portal-pages.js";

const NOTICE_CODES = new Set<string>(["cancelled", "resumed", "lowered", "unchanged", "invalid_quantity", "ended"]);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The hosted customer portal (`/p/session/<token>`, like billing.stripe.com's): the customer
 * cancels at period end, resumes, or lowers the quantity from the next period. Each form carries
 * the session's form token, so another site cannot submit it for the customer.
 */
export function createPortalRoutes({ ctx, commit }: { ctx: BillingEngineContext; commit: () => void }): Hono {
  const portal = new Hono();

  portal.get("/session/:token", (c) => {
    const record = findPortal(ctx, c.req.param("token"));
    const customer = record ? ctx.state.customers[record.session.customer] : undefined;
    if (!record || !customer) return c.html(renderNotFoundPage("This portal session does not exist."), 404);
    const notice = c.req.query("notice");
    const plans = Object.values(ctx.state.subscriptions)
      .filter((subscription) => subscription.customer === customer.id && subscription.status !== "canceled")
      .map((subscription) => ({ subscription, scheduledQuantity: scheduledQuantity(ctx, subscription) }));
    c.header("Cache-Control", "no-store");
    return c.html(
      renderPortalPage({
        urlToken: record.urlToken,
        formToken: record.formToken,
        customer,
        plans,
        returnUrl: record.session.return_url,
        notice: notice !== undefined && NOTICE_CODES.has(notice) ? (notice as PortalNotice) : null,
      }),
    );
  });

  portal.post("/session/:token/subscriptions/:id/:action", async (c) => {
    const token = c.req.param("token");
    const record = findPortal(ctx, token);
    if (!record) return c.html(renderNotFoundPage("This portal session does not exist."), 404);
    const form = await c.req.parseBody();
    const formToken = typeof form.form_token === "string" ? form.form_token : "";
    if (!sameSecret(formToken, record.formToken)) {
      return c.html(renderNotFoundPage("This form has expired. Open the portal again from the billing page."), 403);
    }
    const subscription = ctx.state.subscriptions[c.req.param("id")];
    if (!subscription || subscription.customer !== record.session.customer) {
      return c.html(renderNotFoundPage("This plan does not exist."), 404);
    }
    const notice = applyPortalAction({ ctx, subscriptionId: subscription.id, action: c.req.param("action"), quantity: form.quantity });
    if (notice === null) return c.html(renderNotFoundPage("Unknown portal action."), 404);
    commit();
    return c.redirect(`/p/session/${encodeURIComponent(token)}?notice=${notice}`, 303);
  });

  return portal;
}

function applyPortalAction({
  ctx,
  subscriptionId,
  action,
  quantity,
}: {
  ctx: BillingEngineContext;
  subscriptionId: string;
  action: string;
  quantity: unknown;
}): PortalNotice | null {
  const subscription = findSubscription(ctx, subscriptionId);
  if (subscription.status === "canceled") return "ended";
  const setCancel = (cancelAtPeriodEnd: boolean) =>
    updateSubscription(ctx, { id: subscriptionId, input: { item: null, prorationBehavior: "none", cancelAtPeriodEnd, metadata: undefined } });
  if (action === "cancel") {
    setCancel(true);
    return "cancelled";
  }
  if (action === "resume") {
    setCancel(false);
    return "resumed";
  }
  if (action !== "quantity") return null;
  const requested = typeof quantity === "string" && /^\d{1,4}$/.test(quantity.trim()) ? Number(quantity.trim()) : NaN;
  try {
    scheduleQuantityChange(ctx, { subscription, quantity: requested });
  } catch (error) {
    if (error instanceof StripeApiError) return "invalid_quantity";
    throw error;
  }
  return scheduledQuantity(ctx, subscription) === null ? "unchanged" : "lowered";
}
