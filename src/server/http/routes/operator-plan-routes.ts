import { createRoute } from "@hono/zod-openapi";
import { GroupParams, OperatorPlan, OperatorPlanBody } from "../../../contracts/operator.js";
import type { BillingService } from "../../modules/billing/billing-service.js";
import { findGroupByExternalId, requireOrgByExternalId } from "../../modules/operator/lookups.js";
import { AppError } from "../../errors.js";
import type { AppDeps } from "../context.js";
import { requireOperatorKey } from "../middleware.js";
import { createRouter, errorResponse, jsonBody, jsonResponse } from "../openapi.js";

/** The reseller's controls of a partner plan (a Stripe customer changes theirs in the Stripe portal). */
export function operatorPlanRoutes(deps: AppDeps & { billing: BillingService }) {
  const app = createRouter();
  const db = deps.database.db;
  app.use("/api/operator/*", requireOperatorKey(deps));

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/operator/orgs/{orgExternalId}/groups/{externalId}/plan",
      tags: ["operator"],
      security: [{ operatorKey: [] }],
      summary: "Lower, cancel or resume a partner customer's monthly plan",
      description:
        "For partner-managed groups: the packages from the next period (the current ones or fewer; a raise is a purchase, charged now) and whether the plan ends at its period end. Applied at the next renewal. A past-due plan told to cancel is over at once (`plan: null`, as on the billing page); it is ended by the next renewal round, which first asks the partner whether a retry was charged after all (then that period is granted and the plan ends after it). Replaying the same body changes nothing.",
      request: { params: GroupParams, body: jsonBody(OperatorPlanBody) },
      responses: {
        200: jsonResponse(OperatorPlan, "The plan as the billing page shows it, or null once it has ended"),
        400: errorResponse("invalid_request: the body or an id is not valid; nothing changed"),
        401: errorResponse("unauthenticated: missing or wrong operator key"),
        404: errorResponse("not_found: OPERATOR_API_KEY is not set, or the organization or group was not synced"),
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
