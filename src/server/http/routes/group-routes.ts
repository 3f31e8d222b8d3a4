import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "../../../contracts/common.js";
import { GroupDetail, GroupsResponse, OrgsResponse } from "../../../contracts/groups.js";
import { requireGroupAdmin } from "../../modules/access/access-service.js";
import { findGroupDetail, findGroups, findOrgs } from "../../modules/groups/groups-service.js";
import type { AppDeps } from "../context.js";
import { requireSession } from "../middleware.js";
import { createRouter, errorResponses, jsonResponse } from "../openapi.js";
import * as examples from "../openapi-examples.js";

export const OrgParams = z.object({ orgId: Id });
export const GroupParams = z.object({ groupId: Id });

export function groupRoutes(deps: AppDeps) {
  const app = createRouter();
  const db = deps.database.db;
  app.use("/api/orgs/*", requireSession(deps));
  app.use("/api/orgs", requireSession(deps));
  app.use("/api/groups/*", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/orgs",
      tags: ["groups"],
      summary: "The user's organizations",
      responses: { 200: jsonResponse(OrgsResponse, "Organizations of the user", examples.orgsResult), 401: errorResponses[401] },
    }),
    async (c) => c.json({ orgs: await findOrgs({ db, principal: c.get("principal") }) }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/orgs/{orgId}/groups",
      tags: ["groups"],
      summary: "An organization's groups",
      request: { params: OrgParams },
      responses: { 200: jsonResponse(GroupsResponse, "Groups the user administers", examples.groupsResult), ...errorResponses },
    }),
    async (c) => {
      const { orgId } = c.req.valid("param");
      return c.json({ groups: await findGroups({ db, principal: c.get("principal"), orgId }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/groups/{groupId}",
      tags: ["groups"],
      summary: "A group and its websites",
      request: { params: GroupParams },
      responses: { 200: jsonResponse(GroupDetail, "A group and its websites", examples.groupResult), ...errorResponses },
    }),
    async (c) => {
      const { groupId } = c.req.valid("param");
      const group = await requireGroupAdmin({ db, principal: c.get("principal"), groupId });
      return c.json(await findGroupDetail({ db, group }), 200);
    },
  );

  return app;
}
