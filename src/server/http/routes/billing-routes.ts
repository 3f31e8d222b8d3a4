import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "../../../contracts/common.js";
import {
  BillingSummary,
  EnableBillingResponse,
  InvoicesQuery,
  InvoicesResponse,
  PurchaseBody,
  PurchasePreview,
  PurchasePreviewBody,
  PurchaseResponse,
  PurchaseStatus,
  PortalSessionResponse,
} from "../../../contracts/billing.js";
import { requireGroupAdmin } from "../../modules/access/access-service.js";
import type { BillingService } from "../../modules/billing/billing-service.js";
import type { AppDeps } from "../context.js";
import { requireSession } from "../middleware.js";
import { createRouter, errorResponse, errorResponses, jsonBody, jsonResponse, noBody } from "../openapi.js";
import * as examples from "../openapi-examples.js";
import { GroupParams } from "./group-routes.js";

const IdempotencyHeader = z.object({ "idempotency-key": z.string().min(1).max(255).optional() });

export function billingRoutes(deps: AppDeps & { billing: BillingService }) {
  const app = createRouter();
  const { billing } = deps;
  const db = deps.database.db;
  app.use("/api/groups/*", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing",
      tags: ["billing"],
      summary: "A group's billing state, prices, credits and plan",
      request: { params: GroupParams },
      responses: { 200: jsonResponse(BillingSummary, "Billing state and balances, from our database", examples.billingSummaryResult), ...errorResponses },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await billing.getSummary(group), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/groups/{groupId}/billing/enable",
      tags: ["billing"],
      summary: "Enable billing for a group",
      middleware: [noBody] as const,
      request: { params: GroupParams },
      responses: {
        200: jsonResponse(EnableBillingResponse, "Billing is enabled (repeating changes nothing)", examples.enableBillingResult),
        ...errorResponses,
        503: errorResponse("billing_unavailable"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await billing.enable(group), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/groups/{groupId}/billing/purchases",
      tags: ["billing"],
      summary: "Buy one-time or monthly credit packages",
      request: { params: GroupParams, headers: IdempotencyHeader, body: jsonBody(PurchaseBody, examples.purchaseBody) },
      responses: {
        200: jsonResponse(PurchaseResponse, "Redirect to Stripe Checkout, or charged and granted (a plan raise, a partner charge)", examples.purchaseResult),
        202: jsonResponse(PurchaseResponse, "pending: the payment's outcome is not known yet; it is settled in the background", examples.purchasePendingResult),
        ...errorResponses,
        402: errorResponse("payment_failed: the payment was declined; nothing was granted"),
        409: errorResponse("billing_not_enabled; conflict for a reused idempotency key, a changed price (expectedDueNow) or a past-due plan"),
        503: errorResponse("billing_unavailable"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      const outcome = await billing.purchase(group, c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
      return outcome.httpStatus === 202 ? c.json(outcome.body, 202) : c.json(outcome.body, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/groups/{groupId}/billing/purchases/preview",
      tags: ["billing"],
      summary: "What a purchase would charge, without buying",
      request: { params: GroupParams, body: jsonBody(PurchasePreviewBody, examples.purchasePreviewBody) },
      responses: {
        200: jsonResponse(PurchasePreview, "What the purchase would charge now, and the plan it leads to; changes nothing", examples.purchasePreviewResult),
        ...errorResponses,
        409: errorResponse("billing_not_enabled; conflict for a monthly purchase the plan cannot take now (past due: `details.hostedInvoiceUrl`, or being renewed)"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await billing.preview(group, c.req.valid("json")), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/purchases/{purchaseId}",
      tags: ["billing"],
      summary: "A purchase's state",
      request: { params: GroupParams.extend({ purchaseId: Id }) },
      responses: { 200: jsonResponse(PurchaseStatus, "A purchase's state, from our database", examples.purchaseStatusResult), ...errorResponses },
    }),
    async (c) => {
      const { groupId, purchaseId } = c.req.valid("param");
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId });
      return c.json(await billing.getPurchase(group, purchaseId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/groups/{groupId}/billing/portal",
      tags: ["billing"],
      summary: "Open the plan's portal",
      description:
        "Standard customers: a Stripe customer portal session (cancel at period end, resume, lower the quantity from the next period), returning to the billing page. Partner customers: the partner's portal.",
      middleware: [noBody] as const,
      request: { params: GroupParams },
      responses: {
        200: jsonResponse(PortalSessionResponse, "Where to send the browser", examples.portalSessionResult),
        ...errorResponses,
        409: errorResponse("billing_not_enabled"),
        503: errorResponse("billing_unavailable"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await billing.openPortal(group), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/invoices",
      tags: ["billing"],
      summary: "A group's paid invoices, optionally of one month",
      request: { params: GroupParams, query: InvoicesQuery },
      responses: {
        200: jsonResponse(InvoicesResponse, "Paid invoices, newest first", examples.invoicesResult),
        ...errorResponses,
        503: errorResponse("billing_unavailable"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await billing.listInvoices(group, c.req.valid("query").month), 200);
    },
  );
  return app;
}
