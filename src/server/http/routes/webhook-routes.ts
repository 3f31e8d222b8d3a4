import { createRoute, z } from "@hono/zod-openapi";
import type { BillingService } from "../../modules/billing/billing-service.js";
import type { StripePort } from "../../modules/billing/ports.js";
import type { AppDeps } from "../context.js";
import { AppError } from "../../errors.js";
import { createRouter, errorResponse, jsonResponse } from "../openapi.js";
import * as examples from "../openapi-examples.js";

export function webhookRoutes(deps: AppDeps & { stripe: StripePort; billing: BillingService }) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/webhooks/stripe",
      tags: ["webhooks"],
      summary: "Receive a Stripe event",
      description: "Stripe events, signed with STRIPE_WEBHOOK_SECRET. Each event id takes effect at most once.",
      request: { headers: z.object({ "stripe-signature": z.string().optional() }) },
      responses: {
        200: jsonResponse(z.object({ received: z.literal(true), duplicate: z.boolean() }), "Accepted", examples.stripeWebhookResult),
        400: errorResponse("Bad signature"),
        503: errorResponse("Stripe could not be reached to re-read the event's objects; Stripe retries"),
      },
    }),
    async (c) => {
      const raw = await c.req.text();
      let event;
      try {
        event = deps.stripe.constructEvent(raw, c.req.header("stripe-signature"));
      } catch {
        throw new AppError("invalid_request", "The webhook signature is not valid.");
      }
      const processed = await deps.billing.handleStripeEvent(event);
      c.get("log").info({ eventId: event.id, type: event.type, duplicate: !processed }, "stripe webhook");
      return c.json({ received: true as const, duplicate: !processed }, 200);
    },
  );
  return app;
}
