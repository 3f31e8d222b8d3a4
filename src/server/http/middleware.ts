import { bodyLimit } from "hono/body-limit";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { randomUUID } from "node:crypto";
import { MAX_BATCH_BODY_BYTES, MAX_JSON_BODY_BYTES } from "../../contracts/usage.js";
import type { AppDeps, AppEnv } from "./context.js";
import { AppError } from "../errors.js";
import { findPrincipalBySession } from "../modules/access/access-service.js";

export const SESSION_COOKIE = "gb_session";

/** One request id per request, on every log line and in the X-Request-Id header. */
export const requestLogging = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    const log = deps.logger.child({ reqId: requestId });
    c.set("requestId", requestId);
    c.set("log", log);
    const started = performance.now();
    await next();
    c.header("X-Request-Id", requestId);
    const status = c.res.status;
    // A failure already counted in its burst's one line does not add a line per request.
    if ((status >= 500 || c.req.path.startsWith("/api")) && !c.get("failureLogged")) {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // Successful usage events are the high-volume machine traffic: logged at debug unless slow.
      const routine = status < 400 && ms < 250 && c.req.path.startsWith("/api/v1/usage");
      log[status >= 500 ? "error" : routine ? "debug" : "info"]({ method: c.req.method, path: c.req.path, status, ms }, "request");
    }
  });

/**
 * Cookie-authenticated mutations must be JSON and, when the browser sends an Origin, come from
 * this server: a cross-site form cannot spend a customer's money.
 */
export const browserMutationGuard = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS") return next();
    // Webhooks and the API-key API are not cookie-based.
    if (c.req.path.startsWith("/api/webhooks/") || c.req.path.startsWith("/api/v1/")) return next();
    // Only PUBLIC_URL counts: the request's own Host is the attacker's to choose.
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(deps.publicUrl).origin) {
      throw new AppError("forbidden", "Cross-origin requests are not allowed.");
    }
    const type = c.req.header("content-type");
    const mediaType = type?.split(";")[0]?.trim().toLowerCase();
    if (c.req.method !== "DELETE" && mediaType !== "application/json") {
      throw new AppError("invalid_request", "Content-Type must be application/json.");
    }
    return next();
  });

export const requireSession = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const principal = token ? await findPrincipalBySession({ db: deps.database.db, token }) : null;
    if (!principal || !token) throw new AppError("unauthenticated", "Sign in to continue.");
    c.set("principal", principal);
    c.set("sessionToken", token);
    await next();
    c.header("Cache-Control", "no-store");
  });

/** Bearer API key of an organization (cached per process, revocations reach every process at once). */
export const requireApiKey = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const key = header?.startsWith("Bearer ") ? header.slice(7).trim() : null;
    if (!key) throw new AppError("unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.");
    const orgId = await deps.apiKeys.verify(key);
    if (!orgId) throw new AppError("unauthenticated", "The API key is not valid.");
    c.set("apiOrgId", orgId);
    await next();
    c.header("Cache-Control", "no-store");
  });

const tooLarge = (limit: number) => () => {
  throw new AppError("payload_too_large", `The request body is larger than ${limit / (1024 * 1024)} MB.`);
};
const jsonLimit = bodyLimit({ maxSize: MAX_JSON_BODY_BYTES, onError: tooLarge(MAX_JSON_BODY_BYTES) });
const batchLimit = bodyLimit({ maxSize: MAX_BATCH_BODY_BYTES, onError: tooLarge(MAX_BATCH_BODY_BYTES) });

/**
 * Body limits, enforced while reading: a declared Content-Length over the limit is refused before
 * a byte is read, and a chunked body is counted as it arrives and refused once it passes the limit.
 * Requests without a body pass straight through.
 */
export const bodyLimits = createMiddleware<AppEnv>((c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD") return next();
  return (c.req.path === "/api/v1/usage/batch" ? batchLimit : jsonLimit)(c, next);
});
