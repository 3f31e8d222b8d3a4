import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "../../../contracts/common.js";
import { ApiKeyCreated, ApiKeysResponse, CreateApiKeyBody } from "../../../contracts/api-keys.js";
import { createApiKey, requireOrgAdmin } from "../../modules/access/access-service.js";
import { listApiKeys, revokeApiKey } from "../../modules/access/api-keys-service.js";
import type { AppDeps } from "../context.js";
import { requireSession } from "../middleware.js";
import { createRouter, errorResponses, jsonBody, jsonResponse } from "../openapi.js";
import * as examples from "../openapi-examples.js";

const OrgParams = z.object({ orgId: Id });
const KeyParams = z.object({ orgId: Id, keyId: Id });

/** An organization's API keys, managed by its org admins from the page. */
export function apiKeyRoutes(deps: AppDeps) {
  const app = createRouter();
  const db = deps.database.db;
  app.use("/api/orgs/:orgId/api-keys", requireSession(deps));
  app.use("/api/orgs/:orgId/api-keys/*", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/orgs/{orgId}/api-keys",
      tags: ["api keys"],
      summary: "List the organization's API keys",
      description: "Keys that still work, newest first. The key itself is never shown again; `prefix` identifies it.",
      security: [{ session: [] }],
      request: { params: OrgParams },
      responses: { 200: jsonResponse(ApiKeysResponse, "The organization's keys"), ...errorResponses },
    }),
    async (c) => {
      const { orgId } = c.req.valid("param");
      requireOrgAdmin(c.get("principal"), orgId);
      return c.json({ apiKeys: await listApiKeys({ db, orgId }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/orgs/{orgId}/api-keys",
      tags: ["api keys"],
      summary: "Create an API key",
      description: "The answer holds the key; it is stored hashed and shown this once.",
      security: [{ session: [] }],
      request: { params: OrgParams, body: jsonBody(CreateApiKeyBody, examples.apiKeyBody) },
      responses: { 201: jsonResponse(ApiKeyCreated, "The key, shown once", examples.apiKeyCreated), ...errorResponses },
    }),
    async (c) => {
      const { orgId } = c.req.valid("param");
      requireOrgAdmin(c.get("principal"), orgId);
      return c.json(await createApiKey({ db, orgId, name: c.req.valid("json").name }), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/orgs/{orgId}/api-keys/{keyId}",
      tags: ["api keys"],
      summary: "Revoke an API key",
      description: "From then on the key is answered 401. Revoking it again changes nothing.",
      security: [{ session: [] }],
      request: { params: KeyParams },
      responses: { 204: { description: "Revoked" }, ...errorResponses },
    }),
    async (c) => {
      const { orgId, keyId } = c.req.valid("param");
      requireOrgAdmin(c.get("principal"), orgId);
      await revokeApiKey({ db, orgId, keyId });
      return c.body(null, 204);
    },
  );
  return app;
}
