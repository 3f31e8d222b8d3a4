import { createRoute, z } from "@hono/zod-openapi";
import { LedgerCsvQuery, PreviewBody, PreviewResult, UsageQuery, UsageReport } from "../../../contracts/insight.js";
import { requireGroupAdmin } from "../../modules/access/access-service.js";
import { exportLedgerCsv } from "../../modules/insight/export-ledger-csv.js";
import { getUsageReport } from "../../modules/insight/get-usage-report.js";
import { previewUsage } from "../../modules/insight/preview-usage.js";
import type { AppDeps } from "../context.js";
import type { Frame } from "../frame.js";
import { requireApiKey, requireSession } from "../middleware.js";
import { createRouter, errorResponses, jsonBody, jsonResponse } from "../openapi.js";
import * as examples from "../openapi-examples.js";
import { GroupParams } from "./group-routes.js";

/** Usage of the month with its forecast and the ledger export (session; admins). */
export function insightRoutes(deps: AppDeps) {
  const app = createRouter();
  const { database, config, clock } = deps;
  app.use("/api/groups/*", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/usage",
      tags: ["insight"],
      summary: "A month's usage by day and by website, and the pool forecast",
      request: { params: GroupParams, query: UsageQuery },
      responses: {
        200: jsonResponse(UsageReport, "Credits debited per UTC day and per website in the month, and the pool forecast", examples.usageReportResult),
        ...errorResponses,
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db: database.db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      const report = await getUsageReport({ query: database.query, groupId: group.id, month: c.req.valid("query").month, now: clock(), creditsPerPackage: config.CREDITS_PER_PACKAGE });
      return c.json(report, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/ledger.csv",
      tags: ["insight"],
      summary: "The group's ledger as CSV",
      request: { params: GroupParams, query: LedgerCsvQuery },
      responses: {
        200: {
          description: "Header row, then one row per ledger entry (oldest first), streamed",
          content: { "text/csv": { schema: z.string(), example: examples.ledgerCsvExample } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db: database.db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      const { from, to } = c.req.valid("query");
      const name = `ledger-${group.id.slice(0, 8)}${from ? `-from-${from}` : ""}${to ? `-to-${to}` : ""}.csv`;
      const headers = { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${name}"`, "cache-control": "no-store" };
      return new Response(await exportLedgerCsv({ query: database.query, groupId: group.id, from, to }), { status: 200, headers });
    },
  );

  return app;
}

/** The usage preview (API key): machine traffic, answered through the lean frame like the rest of /api/v1. */
export function usagePreviewRoutes(deps: AppDeps, frame: Frame) {
  const app = createRouter();
  const { database, clock } = deps;
  app.use("/api/v1/usage/preview", requireApiKey(deps));
  app.openapi(
    createRoute({
      method: "post",
      path: "/api/v1/usage/preview",
      tags: ["usage"],
      security: [{ apiKey: [] }],
      summary: "How a debit would be split, without debiting",
      request: { body: jsonBody(PreviewBody, examples.usagePreviewBody) },
      responses: {
        200: jsonResponse(PreviewResult, "How the event would be debited now, part by part; nothing is debited", examples.usagePreviewResult),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { websiteId, credits } = c.req.valid("json");
      return frame.json(await previewUsage({ query: database.query, orgId: c.get("apiOrgId"), websiteId, credits, now: clock() }), 200);
    },
  );
  return app;
}
