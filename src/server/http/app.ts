import { serveStatic } from "@hono/node-server/serve-static";
import { HTTPException } from "hono/http-exception";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { ErrorBody } from "../../contracts/common.js";
import { migrationsApplied } from "../db/migrate.js";
import type { AppDeps } from "./context.js";
import { AppError } from "../errors.js";
import { createFailureLog, describeFailure } from "../failure-log.js";
import { createUsageProcessor } from "../modules/credits/usage-processor.js";
import { statusOf } from "./errors.js";
import { createFrame, RequestLog } from "./frame.js";
import { bodyLimits, browserMutationGuard, requestLogging } from "./middleware.js";
import { createRouter } from "./openapi.js";
import { pageHtml } from "./page-html.js";
import { apiKeyRoutes } from "./routes/api-key-routes.js";
import { groupRoutes } from "./routes/group-routes.js";
import { handoffRoutes } from "./routes/handoff-routes.js";
import { insightRoutes, usagePreviewRoutes } from "./routes/insight-routes.js";
import { sessionRoutes } from "./routes/session-routes.js";
import { usageRoutes } from "./routes/usage-routes.js";
import { usageFastPath } from "./usage-fast-path.js";

export const WEB_ROOT = "dist/web";

/**
 * The app, and `usageFastPath`: given the app's Node listener, the handler that answers single usage
 * events on Node before the app (usage-fast-path.ts); both debit through one usage processor.
 */
export function createApp(deps: AppDeps, extraRoutes: ((deps: AppDeps) => ReturnType<typeof createRouter>)[] = []) {
  const app = createRouter();
  const frame = createFrame(deps.publicUrl);
  const processor = createUsageProcessor({
    database: deps.database.lanes,
    clock: deps.clock,
    depth: deps.config.USAGE_LANE_DEPTH,
    onSyncError: (err) => deps.logger.warn(describeFailure(err), "pool controls not synced after a debit; the pool's next debit syncs them"),
  });
  const failures = createFailureLog("requests are failing");

  app.onError((err, c) => {
    let log = c.get("log");
    if (!log) c.set("log", (log = new RequestLog(deps.logger, c.req.header("x-request-id"))));
    let res: Response;
    if (err instanceof AppError) {
      const body: ErrorBody = { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
      res = frame.json(body, statusOf(err.code));
      if (err.retryAfterSeconds !== undefined) res.headers.set("retry-after", String(err.retryAfterSeconds));
    } else if ((err as { code?: unknown }).code === "billing_unavailable") {
      log.warn({ err: err.message }, "billing service unavailable");
      res = frame.json({ error: { code: "billing_unavailable", message: "The billing service is not available right now. Try again in a moment." } } satisfies ErrorBody, 503);
    } else if (err instanceof HTTPException && err.status < 500) {
      const message = err.status === 415 ? "Content-Type must be application/json." : "Invalid request. The body is not valid JSON.";
      // The validator's 415 (wrong Content-Type) is a 400 invalid_request, as the contract says.
      res = frame.json({ error: { code: "invalid_request", message } } satisfies ErrorBody, 400);
    } else {
      // Class and code only, once per burst: a dropped database fails every request, and its
      // messages carry SQL and parameters (a key's hash).
      failures(err, (fields, msg) => log.error({ ...fields, method: c.req.method, path: c.req.path }, msg));
      c.set("failureLogged", true);
      res = frame.json({ error: { code: "internal_error", message: "Something went wrong on our side." } } satisfies ErrorBody, 500);
    }
    // A logged failure carries its request id, so a caller can quote it.
    const id = log.writtenId;
    if (id) res.headers.set("x-request-id", id);
    return res;
  });

  // Body limits for every request that may carry one (GETs do not pass here).
  app.on(["POST", "PUT", "PATCH", "DELETE"], "*", bodyLimits);

  // Machine traffic first, before any of the page's middleware: health checks and the API-key API
  // answer through the lean frame (precomputed headers; no session, Origin check or per-request logger).
  app.get("/healthz", () => frame.json({ ok: true }, 200));
  const starting = () => deps.startup?.ready === false;
  app.get("/readyz", async () => {
    if (starting()) return frame.json({ ok: false }, 503);
    try {
      const ready = await migrationsApplied(deps.database);
      return ready ? frame.json({ ok: true }, 200) : frame.json({ ok: false }, 503);
    } catch {
      return frame.json({ ok: false }, 503);
    }
  });
  app.route("/", usageRoutes(deps, frame, processor));
  app.route("/", usagePreviewRoutes(deps, frame));

  // The page and its session API.
  app.use("*", requestLogging(deps));
  app.use("*", async (c, next) => {
    await next();
    const headers = c.res.headers;
    for (const name in frame.security) headers.set(name, frame.security[name]!);
  });

  // Every JSON mutation the browser makes; webhooks, the API-key API and the operator API are not cookie-based.
  app.use("/api/*", browserMutationGuard(deps));

  // Sign-in waits for startup (demo data): "try again" (503), never "wrong password" (401).
  app.post("/api/session", async (c, next) => {
    if (!starting()) return next();
    c.header("Retry-After", "1");
    return c.json({ error: { code: "service_unavailable", message: "The server is starting. Try again in a moment." } } satisfies ErrorBody, 503);
  });
  app.route("/", sessionRoutes(deps));
  app.route("/", groupRoutes(deps));
  app.route("/", apiKeyRoutes(deps));
  app.route("/", handoffRoutes(deps));
  app.route("/", insightRoutes(deps));
  for (const routes of extraRoutes) app.route("/", routes(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "session", { type: "apiKey", in: "cookie", name: "gb_session" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "operatorKey", {
    type: "http",
    scheme: "bearer",
    description: "OPERATOR_API_KEY: the host platform's key (operator API and website grants)",
  });
  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Group Billing API", version: "1.0.0" },
  });

  app.all("/api/*", (c) => c.json({ error: { code: "not_found", message: "No such endpoint." } } satisfies ErrorBody, 404));

  // The page: built assets, and index.html for every client-side route.
  if (existsSync(join(WEB_ROOT, "index.html"))) {
    const htmlFor = pageHtml(WEB_ROOT);
    app.use("/assets/*", async (c, next) => {
      await next();
      if (c.res.status === 200) c.header("Cache-Control", "public, max-age=31536000, immutable");
    });
    app.use("*", serveStatic({ root: WEB_ROOT }));
    // A missing asset is a 404, never the page: a stale tab must not run HTML as JavaScript.
    app.get("/assets/*", (c) => c.text("Not found", 404));
    app.get("*", (c) => c.html(htmlFor(c.req.path, new URL(c.req.url).searchParams)));
  }
  return { app, usageFastPath: (listener: (req: IncomingMessage, res: ServerResponse) => void) => usageFastPath({ deps, frame, processor, app: listener }) };
}
