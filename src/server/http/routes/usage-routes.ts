import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "../../../contracts/common.js";
import {
  BalanceResponse,
  GrantBody,
  GrantCreated,
  UsageBatchBody,
  UsageBatchResponse,
  UsageBody,
  UsageResult,
} from "../../../contracts/usage.js";
import { grantWebsiteCredits, findWebsiteBalance } from "../../modules/credits/credits-service.js";
import type { UsageProcessor } from "../../modules/credits/usage-processor.js";
import { requireWebsiteOrgId } from "../../modules/operator/lookups.js";
import { createMiddleware } from "hono/factory";
import type { AppDeps, AppEnv } from "../context.js";
import { RequestLog, type Frame } from "../frame.js";
import { createFailureLog } from "../../failure-log.js";
import { AppError } from "../../errors.js";
import { hasOperatorKey, machineLogging, requireApiKey } from "../middleware.js";
import { createRouter, describeIssues, errorResponse, errorResponses, findBadText, jsonBody, jsonResponse, ValidatedPerItem } from "../openapi.js";
import * as examples from "../openapi-examples.js";

const WebsiteParams = z.object({ websiteId: Id });
const security = [{ apiKey: [] }];
const GRANTS_PATH = /^\/api\/v1\/websites\/[^/]+\/grants$/;
/** Debits confirm the API key in their own first statement: no catch-up round trip per request. */
const DEBIT_PATHS = new Set(["/api/v1/usage", "/api/v1/usage/batch"]);

/** The API-key API: machine traffic, answered through the lean frame (see frame.ts); on Node, single events come through usage-fast-path.ts. */
export function usageRoutes(deps: AppDeps, frame: Frame, processor: UsageProcessor) {
  const app = createRouter();
  const failures = createFailureLog("usage events are failing");
  const orgKey = requireApiKey(deps, { inTransaction: (c) => c.req.method === "POST" && DEBIT_PATHS.has(c.req.path) });
  // Website grants come from the host platform: the operator key passes there (and only there).
  app.use(
    "/api/v1/*",
    machineLogging(deps),
    createMiddleware<AppEnv>(async (c, next) => {
      if (GRANTS_PATH.test(c.req.path) && hasOperatorKey(deps, c.req.header("authorization"))) {
        c.set("operator", true);
        return next();
      }
      return orgKey(c, next);
    }),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/usage",
      tags: ["usage"],
      summary: "Spend a website's credits",
      description: "The website's own credits first, then its group's monthly, then one-time. The same idempotencyKey with the same body answers the first result again and never spends twice.",
      security,
      request: { body: jsonBody(UsageBody, examples.usageBody) },
      responses: {
        200: jsonResponse(UsageResult, "Debited: the website's credits first, then the group's monthly, then one-time", examples.usageResult),
        ...errorResponses,
        402: errorResponse("insufficient_credits: nothing was debited"),
        409: errorResponse("conflict: the idempotency key was used with another body"),
      },
    }),
    async (c) => {
      const outcome = await processor.submit({ ...c.req.valid("json"), orgId: c.get("apiOrgId"), apiKeyId: c.get("apiKeyToConfirm") });
      if (outcome.status === 200) return frame.json(outcome.result, 200);
      throw new AppError(outcome.error.code, outcome.error.message);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/usage/batch",
      tags: ["usage"],
      summary: "Spend credits for up to 1,000 events",
      description: "Each event is a usage request of its own, with its own result in the answer's order; a bad event does not stop its neighbours.",
      security,
      request: { body: jsonBody(UsageBatchBody.transform((b) => new ValidatedPerItem(b.events)), examples.usageBatchBody) },
      responses: {
        200: jsonResponse(UsageBatchResponse, "One result per event, in order; an invalid event gets its own 400 result, an event that failed on our side its own 500 (not debited; retry it with the same key). Only when every event failed is the answer itself a 500", examples.usageBatchResult),
        ...errorResponses,
      },
    }),
    async (c) => {
      const orgId = c.get("apiOrgId");
      const results: UsageBatchResponse["results"] = [];
      const valid: { index: number; event: UsageBody }[] = [];
      c.req.valid("json").items.forEach((item, index) => {
        const parsed = UsageBody.safeParse(item);
        const bad = parsed.success ? findBadText(parsed.data) : describeIssues(parsed.error.issues);
        if (parsed.success && !bad) valid.push({ index, event: parsed.data });
        else results[index] = { status: 400, error: { code: "invalid_request", message: parsed.success ? `Invalid request. ${bad}` : bad! } };
      });
      const apiKeyId = c.get("apiKeyToConfirm");
      const outcomes = await processor.submitMany(valid.map(({ event }) => ({ ...event, orgId, apiKeyId })));
      // A key revoked before any of the batch was debited: the request is refused as a whole.
      if (outcomes.length > 0 && outcomes.every((o) => o.status === 401)) throw new AppError("unauthenticated", "The API key is not valid.");
      const failed = outcomes.filter((o) => o.status === "failed");
      // Nothing went through (the database is down): the request fails as a whole, as one event would.
      if (failed.length > 0 && failed.length === outcomes.length) throw failed[0]!.error;
      valid.forEach(({ index }, i) => {
        const outcome = outcomes[i]!;
        if (outcome.status !== "failed") return void (results[index] = outcome);
        // An event that failed even alone: its own 500 result (logged once per burst, class and
        // code only); its neighbours were debited. A retry with the same key is safe.
        failures(outcome.error, (fields, msg) => (c.get("log") ?? new RequestLog(deps.logger, c.req.header("x-request-id"))).error({ ...fields, path: c.req.path }, msg));
        results[index] = { status: 500, error: { code: "internal_error", message: "This event failed on our side and was not debited. Retry it with the same idempotency key." } };
      });
      return frame.json({ results }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/websites/{websiteId}/grants",
      tags: ["usage"],
      security: [{ operatorKey: [] }],
      summary: "Grant a website credits of its own (operator key)",
      description: "Website grants come from the host platform, not the customer: an organization's API key gets 403.",
      request: { params: WebsiteParams, body: jsonBody(GrantBody, examples.grantBody) },
      responses: {
        201: jsonResponse(GrantCreated, "The website's own credits", examples.grantResult),
        ...errorResponses,
        403: errorResponse("forbidden: an organization API key cannot grant credits"),
        409: errorResponse("conflict"),
      },
    }),
    async (c) => {
      if (!c.get("operator")) throw new AppError("forbidden", "Website grants come from the platform: send the operator key (OPERATOR_API_KEY).");
      const { websiteId } = c.req.valid("param");
      const grant = await grantWebsiteCredits({
        database: deps.database,
        clock: deps.clock,
        orgId: await requireWebsiteOrgId({ db: deps.database.db, websiteId }),
        websiteId,
        body: c.req.valid("json"),
      });
      return frame.json(grant, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/websites/{websiteId}/balance",
      tags: ["usage"],
      summary: "What a website can still spend",
      security,
      request: { params: WebsiteParams },
      responses: { 200: jsonResponse(BalanceResponse, "Spendable credits", examples.balanceResult), ...errorResponses },
    }),
    async (c) =>
      frame.json(await findWebsiteBalance({ query: deps.database.query, clock: deps.clock, orgId: c.get("apiOrgId"), websiteId: c.req.valid("param").websiteId }), 200),
  );
  return app;
}
