import { createRoute } from "@hono/zod-openapi";
import {
  ExternalIdParams,
  GroupParams,
  OperatorGroup,
  OperatorGroupBody,
  OperatorOrg,
  OperatorOrgBody,
  OperatorPlan,
  OperatorPlanBody,
  OperatorUser,
  OperatorUserBody,
  OperatorWebsite,
  OperatorWebsiteBody,
} from "../../../contracts/operator.js";
import { AppError } from "../../errors.js";
import type { BillingService } from "../../modules/billing/billing-service.js";
import { deleteGroup, upsertGroup } from "../../modules/operator/groups.js";
import { findGroupByExternalId, requireOrgByExternalId } from "../../modules/operator/lookups.js";
import { deleteOrganization, upsertOrganization } from "../../modules/operator/organizations.js";
import { deleteUser, upsertUser } from "../../modules/operator/users.js";
import { deleteWebsite, upsertWebsite } from "../../modules/operator/websites.js";
import type { AppDeps } from "../context.js";
import { requireOperatorKey } from "../middleware.js";
import { createRouter, errorResponse, jsonBody, jsonResponse } from "../openapi.js";

const tags = ["operator"];
const security = [{ operatorKey: [] }];
const errors = {
  400: errorResponse("invalid_request: the body or an id is not valid; nothing changed"),
  401: errorResponse("unauthenticated: missing or wrong operator key"),
  404: errorResponse("not_found: OPERATOR_API_KEY is not set, or a referenced organization or group was not synced yet"),
};
const deleted = { 204: { description: "Deleted (or was not there): replaying a delete is safe" } };

/**
 * The host platform's API: it owns organizations, groups, websites and people, and syncs them by
 * replaying its state. Every PUT is an upsert keyed by the platform's own id. Also the reseller's
 * controls of a partner plan (a Stripe customer changes theirs in the Stripe portal), which need
 * the billing service: mounted by server.ts with the billing routes (`createApp`'s extra routes).
 */
export function operatorRoutes(deps: AppDeps & { billing: BillingService }) {
  const app = createRouter();
  const db = deps.database.db;
  app.use("/api/operator/*", requireOperatorKey(deps));

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/orgs/{externalId}",
      tags,
      security,
      summary: "Create or update an organization",
      description: "Replaying the same body changes nothing. `partnerManaged` cannot change once a group has billing enabled (409).",
      request: { params: ExternalIdParams, body: jsonBody(OperatorOrgBody) },
      responses: { 200: jsonResponse(OperatorOrg, "The organization"), ...errors, 409: errorResponse("conflict: partnerManaged cannot change after billing was enabled") },
    }),
    async (c) => c.json(await upsertOrganization({ db, externalId: c.req.valid("param").externalId, body: c.req.valid("json") }), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/operator/orgs/{externalId}",
      tags,
      security,
      summary: "Delete an organization",
      description:
        "Its groups go with it, its members lose access and its API keys stop working; billing records are kept. 409 while it has websites, or a group with credits left, an active plan or a pending purchase.",
      request: { params: ExternalIdParams },
      responses: { ...deleted, ...errors, 409: errorResponse("conflict: deleting would lose money or orphan websites; the message says what to do first") },
    }),
    async (c) => {
      await deleteOrganization({ db, externalId: c.req.valid("param").externalId });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/orgs/{orgExternalId}/groups/{externalId}",
      tags,
      security,
      summary: "Create or rename a group of an organization",
      request: { params: GroupParams, body: jsonBody(OperatorGroupBody) },
      responses: { 200: jsonResponse(OperatorGroup, "The group; its `id` makes the billing page `/groups/{id}/billing`"), ...errors },
    }),
    async (c) => {
      const { orgExternalId, externalId } = c.req.valid("param");
      return c.json(await upsertGroup({ db, orgExternalId, externalId, body: c.req.valid("json") }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/operator/orgs/{orgExternalId}/groups/{externalId}",
      tags,
      security,
      summary: "Delete a group",
      description: "409 while it has websites, credits left, an active monthly plan (cancel first) or a pending purchase. Billing records are kept.",
      request: { params: GroupParams },
      responses: { ...deleted, ...errors, 409: errorResponse("conflict: deleting would lose money or orphan websites; the message says what to do first") },
    }),
    async (c) => {
      const { orgExternalId, externalId } = c.req.valid("param");
      await deleteGroup({ db, orgExternalId, externalId });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/websites/{externalId}",
      tags,
      security,
      summary: "Create, update or move a website",
      description:
        "Moving it to another group of its organization keeps its own credits; its next usage draws on the new group's pool. `groupExternalId: null` takes it out of any group. Another organization is 409.",
      request: { params: ExternalIdParams, body: jsonBody(OperatorWebsiteBody) },
      responses: { 200: jsonResponse(OperatorWebsite, "The website"), ...errors, 409: errorResponse("conflict: the website belongs to another organization") },
    }),
    async (c) => c.json(await upsertWebsite({ db, externalId: c.req.valid("param").externalId, body: c.req.valid("json") }), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/operator/websites/{externalId}",
      tags,
      security,
      summary: "Delete a website",
      description: "409 while it holds credits of its own. Its usage history is kept.",
      request: { params: ExternalIdParams },
      responses: { ...deleted, ...errors, 409: errorResponse("conflict: the website still has credits of its own") },
    }),
    async (c) => {
      await deleteWebsite({ db, externalId: c.req.valid("param").externalId });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/users/{externalId}",
      tags,
      security,
      summary: "Create or update a user and replace their memberships",
      description:
        "Memberships not in the body end; a lowered role or a removed group applies to the user's next request. A password user with the same email is linked to this id.",
      request: { params: ExternalIdParams, body: jsonBody(OperatorUserBody) },
      responses: { 200: jsonResponse(OperatorUser, "The user"), ...errors, 409: errorResponse("conflict: the email belongs to another user") },
    }),
    async (c) => c.json(await upsertUser({ db, externalId: c.req.valid("param").externalId, body: c.req.valid("json") }), 200),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/operator/users/{externalId}",
      tags,
      security,
      summary: "Delete a user",
      description: "Their sessions end at once.",
      request: { params: ExternalIdParams },
      responses: { ...deleted, ...errors },
    }),
    async (c) => {
      await deleteUser({ db, externalId: c.req.valid("param").externalId });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/orgs/{orgExternalId}/groups/{externalId}/plan",
      tags,
      security,
      summary: "Lower, cancel or resume a partner customer's monthly plan",
      description:
        "For partner-managed groups: the packages from the next period (the current ones or fewer; a raise is a purchase, charged now) and whether the plan ends at its period end. Applied at the next renewal. A past-due plan told to cancel is over at once (`plan: null`, as on the billing page); it is ended by the next renewal round, which first asks the partner whether a retry was charged after all (then that period is granted and the plan ends after it). Replaying the same body changes nothing.",
      request: { params: GroupParams, body: jsonBody(OperatorPlanBody) },
      responses: {
        200: jsonResponse(OperatorPlan, "The plan as the billing page shows it, or null once it has ended"),
        ...errors,
        409: errorResponse("conflict: no billing or no plan, a Stripe customer's plan, or more packages than the plan has"),
      },
    }),
    async (c) => {
      const { orgExternalId, externalId } = c.req.valid("param");
      const org = await requireOrgByExternalId({ db, externalId: orgExternalId });
      const group = await findGroupByExternalId({ db, orgId: org.id, externalId });
      if (!group) throw new AppError("not_found", `Group '${externalId}' not found in organization '${orgExternalId}'.`);
      return c.json(await deps.billing.changePartnerPlan(group.id, c.req.valid("json")), 200);
    },
  );
  return app;
}
