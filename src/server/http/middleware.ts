import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { randomUUID } from "node:crypto";
import type { AppDeps, AppEnv } from "./context.js";
import { AppError } from "../errors.js";
import { findOrgByApiKey, findPrincipalBySession } from "../modules/access/access-service.js";

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
    if (status >= 500 || c.req.path.startsWith("/api")) {
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
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(deps.publicUrl).origin && origin !== new URL(c.req.url).origin) {
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
    // Routers guard their own paths; where two guards cover one request, the first one's answer stands.
    if (c.get("principal")) return next();
    const token = getCookie(c, SESSION_COOKIE);
    const principal = token ? await findPrincipalBySession({ db: deps.database.db, token }) : null;
    if (!principal || !token) throw new AppError("unauthenticated", "Sign in to continue.");
    c.set("principal", principal);
    c.set("sessionToken", token);
    return next();
  });

const API_KEY_CACHE_MS = 5_000;

/** Bearer API key of an organization. Keys are cached for a few seconds to keep the usage path fast. */
export const requireApiKey = (deps: AppDeps) => {
  const cache = new Map<string, { orgId: string | null; at: number }>();
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const key = header?.startsWith("Bearer ") ? header.slice(7).trim() : null;
    if (!key) throw new AppError("unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.");
    const now = Date.now();
    let hit = cache.get(key);
    if (!hit || now - hit.at > API_KEY_CACHE_MS) {
      hit = { orgId: await findOrgByApiKey({ db: deps.database.db, key }), at: now };
      if (cache.size > 10_000) cache.clear();
      cache.set(key, hit);
    }
    if (!hit.orgId) throw new AppError("unauthenticated", "The API key is not valid.");
    c.set("apiOrgId", hit.orgId);
    return next();
  });
};
