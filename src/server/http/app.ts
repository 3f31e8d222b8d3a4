import { serveStatic } from "@hono/node-server/serve-static";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ErrorBody } from "../../contracts/common.js";
import { migrationsApplied } from "../db/migrate.js";
import type { AppDeps } from "./context.js";
import { AppError } from "../errors.js";
import { statusOf } from "./errors.js";
import { browserMutationGuard, requestLogging } from "./middleware.js";
import { createRouter } from "./openapi.js";
import { apiKeyRoutes } from "./routes/api-key-routes.js";
import { groupRoutes } from "./routes/group-routes.js";
import { sessionRoutes } from "./routes/session-routes.js";
import { usageRoutes } from "./routes/usage-routes.js";

export const WEB_ROOT = "dist/web";

export function createApp(deps: AppDeps, extraRoutes: ((deps: AppDeps) => ReturnType<typeof createRouter>)[] = []) {
  const app = createRouter();
  const secure = deps.publicUrl.startsWith("https:");

  app.use("*", requestLogging(deps));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:", "https:", "http:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'self'"],
        objectSrc: ["'none'"],
      },
      strictTransportSecurity: secure ? "max-age=31536000; includeSubDomains" : false,
      xFrameOptions: "DENY",
      referrerPolicy: "strict-origin-when-cross-origin",
    }),
  );

  app.onError((err, c) => {
    if (err instanceof AppError) {
      return c.json({ error: { code: err.code, message: err.message } } satisfies ErrorBody, statusOf(err.code));
    }
    if ((err as { code?: unknown }).code === "billing_unavailable") {
      c.get("log")?.warn({ err: err.message }, "billing service unavailable");
      const body: ErrorBody = { error: { code: "billing_unavailable", message: "The billing service is not available right now. Try again in a moment." } };
      return c.json(body, 503);
    }
    if (err instanceof HTTPException && err.status < 500) {
      const message = err.status === 415 ? "Content-Type must be application/json." : "Invalid request. The body is not valid JSON.";
      return c.json({ error: { code: "invalid_request", message } } satisfies ErrorBody, err.status);
    }
    c.get("log")?.error({ err }, "unhandled error");
    return c.json({ error: { code: "internal_error", message: "Something went wrong on our side." } } satisfies ErrorBody, 500);
  });

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", async (c) => {
    try {
      const ready = await migrationsApplied(deps.database);
      return c.json({ ok: ready }, ready ? 200 : 503);
    } catch {
      return c.json({ ok: false }, 503);
    }
  });

  // Every JSON mutation the browser makes; webhooks and the API-key API are not cookie-based.
  app.use("/api/*", browserMutationGuard(deps));

  app.route("/", sessionRoutes(deps));
  app.route("/", groupRoutes(deps));
  app.route("/", apiKeyRoutes(deps));
  app.route("/", usageRoutes(deps));
  for (const routes of extraRoutes) app.route("/", routes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "session", { type: "apiKey", in: "cookie", name: "gb_session" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer" });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Group Billing API", version: "1.0.0" },
  });

  app.all("/api/*", (c) => c.json({ error: { code: "not_found", message: "No such endpoint." } } satisfies ErrorBody, 404));

  // The page: built assets, and index.html for every client-side route.
  if (existsSync(join(WEB_ROOT, "index.html"))) {
    const indexHtml = readFileSync(join(WEB_ROOT, "index.html"), "utf8");
    app.use("/assets/*", async (c, next) => {
      await next();
      if (c.res.status === 200) c.header("Cache-Control", "public, max-age=31536000, immutable");
    });
    app.use("*", serveStatic({ root: WEB_ROOT }));
    // A missing asset is a 404, never the page: a stale tab must not run HTML as JavaScript.
    app.get("/assets/*", (c) => c.text("Not found", 404));
    app.get("*", (c) => c.html(indexHtml));
  }
  return app;
}
