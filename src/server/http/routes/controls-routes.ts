import { createRoute } from "@hono/zod-openapi";
import { Id } from "../../../contracts/common.js";
import {
  AlertsResponse,
  ControlSettings,
  ControlSettingsBody,
  PoolCap,
  PoolCapBody,
  PoolCapsResponse,
  TestEventResponse,
} from "../../../contracts/controls.js";
import { requireGroupAdmin } from "../../modules/access/access-service.js";
import { listPoolCaps, setPoolCap } from "../../modules/controls/pool-caps.js";
import { getControlSettings, listAlerts, sendTestAlert, updateControlSettings } from "../../modules/controls/settings-service.js";
import type { AppDeps } from "../context.js";
import { requireSession } from "../middleware.js";
import { createRouter, errorResponse, errorResponses, jsonBody, jsonResponse, noBody } from "../openapi.js";
import * as examples from "../openapi-examples.js";
import { GroupParams } from "./group-routes.js";

/** Pool controls (api.md "Controls"): settings, alerts, caps. Session; admins of the group. */
export function controlsRoutes(deps: AppDeps) {
  const app = createRouter();
  const { database } = deps;
  const db = database.db;
  const allowPrivateWebhooks = deps.config.ALLOW_PRIVATE_WEBHOOKS === "1";
  app.use("/api/groups/*", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/settings",
      tags: ["controls"],
      summary: "A group's low-balance alert, webhook and auto top-up settings",
      request: { params: GroupParams },
      responses: { 200: jsonResponse(ControlSettings, "Low-balance threshold, alert webhook, auto top-up", examples.controlSettingsResult), ...errorResponses },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await getControlSettings({ database, clock: deps.clock, groupId: group.id }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/groups/{groupId}/billing/settings",
      tags: ["controls"],
      summary: "Change the low-balance alert, webhook or auto top-up",
      request: { params: GroupParams, body: jsonBody(ControlSettingsBody, examples.controlSettingsBody) },
      responses: {
        200: jsonResponse(ControlSettings, "Saved; a field left out keeps its value", examples.controlSettingsResult),
        ...errorResponses,
        409: errorResponse("billing_not_enabled (auto top-up needs billing)"),
      },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await updateControlSettings({ database, clock: deps.clock, allowPrivateWebhooks, groupId: group.id, body: c.req.valid("json") }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/groups/{groupId}/billing/settings/test-event",
      tags: ["controls"],
      summary: "Send a test event to the alert webhook",
      middleware: [noBody] as const,
      request: { params: GroupParams },
      responses: { 202: jsonResponse(TestEventResponse, "A test event is queued for the webhook URL", examples.testEventResult), ...errorResponses },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await sendTestAlert({ database, clock: deps.clock, allowPrivateWebhooks, groupId: group.id }), 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/billing/alerts",
      tags: ["controls"],
      summary: "The group's latest alerts and their delivery",
      request: { params: GroupParams },
      responses: { 200: jsonResponse(AlertsResponse, "The latest alerts, newest first, with delivery status", examples.alertsResult), ...errorResponses },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await listAlerts({ database, groupId: group.id }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}/pool-caps",
      tags: ["controls"],
      summary: "Websites with a monthly cap on group credits",
      request: { params: GroupParams },
      responses: { 200: jsonResponse(PoolCapsResponse, "Capped websites and their use of the cap this month", examples.poolCapsResult), ...errorResponses },
    }),
    async (c) => {
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId: c.req.valid("param").groupId });
      return c.json(await listPoolCaps({ database, groupId: group.id, now: deps.clock() }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/groups/{groupId}/websites/{websiteId}/pool-cap",
      tags: ["controls"],
      summary: "Cap (or uncap) a website's monthly use of group credits",
      request: { params: GroupParams.extend({ websiteId: Id }), body: jsonBody(PoolCapBody, examples.poolCapBody) },
      responses: { 200: jsonResponse(PoolCap, "The cap (null: none) and the pool credits drawn this month", examples.poolCapResult), ...errorResponses },
    }),
    async (c) => {
      const { groupId, websiteId } = c.req.valid("param");
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId });
      return c.json(await setPoolCap({ database, groupId: group.id, websiteId, monthlyCredits: c.req.valid("json").monthlyCredits, now: deps.clock() }), 200);
    },
  );
  return app;
}
