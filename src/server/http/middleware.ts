import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { MAX_BATCH_BODY_BYTES, MAX_JSON_BODY_BYTES } from "../../contracts/usage.js";
import type { AppDeps, AppEnv } from "./context.js";
import { RequestLog, SLOW_REQUEST_MS } from "./frame.js";
import { AppError } from "../errors.js";
import { findPrincipalBySession } from "../modules/access/access-service.js";

export const SESSION_COOKIE = "gb_session";

/** The session cookie, the same for a password sign-in and a platform handoff. */
export function setSessionCookie(c: Context<AppEnv>, deps: AppDeps, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: deps.publicUrl.startsWith("https:"),
    path: "/",
    maxAge: deps.config.SESSION_TTL_HOURS * 3600,
  });
}

/**
 * The page's requests and its session API: each `/api` request and every failure is logged with a
 * request id (also sent back as X-Request-Id); the id and the child logger are made only when a
 * line is written. Machine traffic (`/api/v1`, `/healthz`) does not pass here (see app.ts).
 */
export const requestLogging = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const log = new RequestLog(deps.logger, c.req.header("x-request-id"));
    c.set("log", log);
    const started = performance.now();
    await next();
    const status = c.res.status;
    // A failure already counted in its burst's one line (app.ts) does not add a line per request.
    if ((status >= 500 || c.req.path.startsWith("/api")) && !c.get("failureLogged")) {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      log[status >= 500 ? "error" : "info"]({ method: c.req.method, path: c.req.path, status, ms }, "request");
    }
    const id = log.writtenId;
    if (id) c.header("X-Request-Id", id);
  });

/**
 * Machine traffic (the API-key API) is logged by exception: failures (4xx at info, 5xx at error)
 * and slow requests, each line with a request id; a successful request writes nothing (debug
 * level shows them) and creates no logger.
 */
export const machineLogging = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    // A failure already counted in its burst's one line (app.ts) does not add a line per request.
    if (c.get("failureLogged")) return;
    const log = () => c.get("log") ?? new RequestLog(deps.logger, c.req.header("x-request-id"));
    const id = logMachineRequest(deps, { method: c.req.method, path: c.req.path, status: c.res.status, started, log });
    if (id) c.res.headers.set("x-request-id", id);
  });

/** Machine traffic's line (see machineLogging), if it gets one; returns the request id to answer with when a line was written. */
export function logMachineRequest(deps: AppDeps, r: { method: string; path: string; status: number; started: number; log: () => RequestLog }): string | null {
  const ms = performance.now() - r.started;
  if (r.status < 400 && ms < SLOW_REQUEST_MS && !deps.logger.isLevelEnabled("debug")) return null;
  const level = r.status >= 500 ? "error" : r.status >= 400 || ms >= SLOW_REQUEST_MS ? "info" : "debug";
  const log = r.log();
  log[level]({ method: r.method, path: r.path, status: r.status, ms: Math.round(ms * 10) / 10 }, ms >= SLOW_REQUEST_MS ? "slow request" : "request");
  return log.writtenId;
}

/**
 * Cookie-authenticated mutations must be JSON and, when the browser sends an Origin, come from
 * this server: a cross-site form cannot spend a customer's money.
 */
export const browserMutationGuard = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.method === "OPTIONS") return next();
    // Webhooks, the API-key API and the operator API are not cookie-based.
    if (c.req.path.startsWith("/api/webhooks/") || c.req.path.startsWith("/api/v1/") || c.req.path.startsWith("/api/operator/")) return next();
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
    // Several routers guard /api/groups/* and /api/orgs/*: the session is looked up once per request.
    if (c.get("principal")) return next();
    const token = getCookie(c, SESSION_COOKIE);
    const principal = token ? await findPrincipalBySession({ db: deps.database.db, token }) : null;
    if (!principal || !token) throw new AppError("unauthenticated", "Sign in to continue.");
    c.set("principal", principal);
    c.set("sessionToken", token);
    await next();
    // Answers for a signed-in user are never stored by a browser or proxy cache.
    c.header("Cache-Control", "no-store");
  });

/** Whether the request carries the operator key; compared in constant time (of equal-length digests). */
export function hasOperatorKey(deps: AppDeps, authorization: string | undefined): boolean {
  const expected = deps.config.OPERATOR_API_KEY;
  if (!expected || !authorization?.startsWith("Bearer ")) return false;
  const given = authorization.slice(7).trim();
  return timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest());
}

/** The host platform's API: 404 while OPERATOR_API_KEY is unset (the demo stays closed), 401 for any other key. */
export const requireOperatorKey = (deps: AppDeps) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!deps.config.OPERATOR_API_KEY) throw new AppError("not_found", "No such endpoint.");
    if (!hasOperatorKey(deps, c.req.header("authorization"))) {
      throw new AppError("unauthenticated", "Send the operator key as 'Authorization: Bearer <OPERATOR_API_KEY>'.");
    }
    c.set("operator", true);
    return next();
  });

/**
 * Bearer API key of an organization: cached per process, and a revocation reaches every process
 * before its next request (api-key-verifier.ts). Answers go through the frame (no-store).
 */
export const requireApiKey = (deps: AppDeps, { inTransaction }: { /** Routes that confirm the key in their own transaction (`apiKeyToConfirm`). */ inTransaction?: (c: Context<AppEnv>) => boolean } = {}) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization");
    const key = header?.startsWith("Bearer ") ? header.slice(7).trim() : null;
    if (!key) throw new AppError("unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.");
    if (inTransaction?.(c)) {
      const found = await deps.apiKeys.verifyInTransaction(key);
      if (!found) throw new AppError("unauthenticated", "The API key is not valid.");
      c.set("apiOrgId", found.orgId);
      if (!found.confirmed) c.set("apiKeyToConfirm", found.keyId);
      return next();
    }
    const orgId = await deps.apiKeys.verify(key);
    if (!orgId) throw new AppError("unauthenticated", "The API key is not valid.");
    c.set("apiOrgId", orgId);
    return next();
  });

/** Where the usage fast path leaves a body it read before handing the request to the app. */
export const PRE_READ_BODY = Symbol("pre-read body");

const tooLarge = (limit: number) => () => {
  throw new AppError("payload_too_large", `The request body is larger than ${limit / (1024 * 1024)} MB.`);
};
const jsonLimit = bodyLimit({ maxSize: MAX_JSON_BODY_BYTES, onError: tooLarge(MAX_JSON_BODY_BYTES) });
const batchLimit = bodyLimit({ maxSize: MAX_BATCH_BODY_BYTES, onError: tooLarge(MAX_BATCH_BODY_BYTES) });
const utf8 = new TextDecoder();

/** How long, and how much, of a refused body is read and dropped before the connection is cut. */
const DISCARD_MS = 5_000;
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;

/**
 * After a 413, the rest of the body is read and dropped (never buffered) for a few seconds: closing
 * a socket with unread data makes the kernel answer with a reset, which can destroy the 413 before
 * the client reads it (measured: a client still sending got EPIPE instead of the answer). The
 * answer is sent at once; a client that keeps sending past DISCARD_MS or DISCARD_MAX_BYTES is cut
 * off, by then it has had the answer for seconds.
 */
function discardRest(incoming: IncomingMessage) {
  if (incoming.readableEnded) return;
  let dropped = 0;
  const cut = () => incoming.socket.destroy();
  const timer = setTimeout(cut, DISCARD_MS);
  timer.unref();
  incoming.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_MAX_BYTES) cut();
  });
  incoming.once("close", () => clearTimeout(timer));
  incoming.resume();
}

/** The Node request's body, read as it arrives and refused (payload_too_large) once past `limit`. */
export function readNodeBody(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: Error | null, body?: Buffer) => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done(new AppError("payload_too_large", `The request body is larger than ${limit / (1024 * 1024)} MB.`));
        return discardRest(incoming);
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const onError = (err: Error) => done(err);
    const onClose = () => (incoming.readableEnded ? onEnd() : done(new Error("The client closed the connection before sending the whole body.")));
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}

/**
 * Body limits, enforced while reading: a declared Content-Length over the limit is refused before
 * a byte is kept, and a chunked body is counted as it arrives and refused once it passes the limit;
 * either way the rest is dropped as it arrives (discardRest).
 * Registered for the methods that carry a body only (app.ts), so GETs pay nothing.
 *
 * On the Node server the body is read straight from the socket's IncomingMessage and handed to
 * Hono as text (`c.req.text()`/`json()` read it from there): touching `c.req.raw.body` instead
 * builds a Web Request, AbortSignal and ReadableStream per request (measured: about a third of
 * the API process's CPU on the single-event usage path). Without Node (`app.request()` in
 * tests) hono's bodyLimit does the same on the Web Request.
 */
export const bodyLimits = createMiddleware<AppEnv>(async (c, next) => {
  const batch = c.req.path === "/api/v1/usage/batch";
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming) return (batch ? batchLimit : jsonLimit)(c, next);
  const limit = batch ? MAX_BATCH_BODY_BYTES : MAX_JSON_BODY_BYTES;
  const declared = incoming.headers["content-length"];
  if (declared !== undefined && incoming.headers["transfer-encoding"] === undefined && Number(declared) > limit) {
    discardRest(incoming);
    tooLarge(limit)();
  }
  // The usage fast path (usage-fast-path.ts) hands over a request whose body it has read.
  const body = (incoming as IncomingMessage & { [PRE_READ_BODY]?: Buffer })[PRE_READ_BODY] ?? (await readNodeBody(incoming, limit));
  // HonoRequest's json()/text() take a cached body as a promise (its type says string).
  (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(utf8.decode(body));
  return next();
});
