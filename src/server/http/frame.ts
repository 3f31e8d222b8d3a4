import type { TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";

/**
 * The request frame: what every answer carries, computed once per app instead of per request.
 *
 * Machine traffic (`/healthz`, `/readyz`, the API-key API under `/api/v1/`) answers through
 * `json()` below: a `Response` whose headers are one frozen plain object, which
 * `@hono/node-server` writes straight to the socket (no `Headers` object, no per-request string
 * building). Measured in `bench/frame.ts` (`npm run bench`, section 0).
 */

/** Same directives as before (hono's secureHeaders options), as header strings. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https: http:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'self'",
  "object-src 'none'",
].join("; ");

/** The security headers of every response: a strict CSP, no framing, no sniffing, HSTS over https. */
export function securityHeaders(publicUrl: string): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {
    "content-security-policy": CSP,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "DENY",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
  };
  if (publicUrl.startsWith("https:")) headers["strict-transport-security"] = "max-age=31536000; includeSubDomains";
  return Object.freeze(headers);
}

export interface Frame {
  /** Security headers, for responses built elsewhere (the page, static files). */
  security: Readonly<Record<string, string>>;
  /** Security headers + JSON + `Cache-Control: no-store` (answers are per caller; never cached). */
  jsonHeaders: Readonly<Record<string, string>>;
  /** A JSON answer with the precomputed headers. */
  json<T, S extends ContentfulStatusCode>(body: T, status: S): Response & TypedResponse<JSONParsed<T>, S, "json">;
}

export function createFrame(publicUrl: string): Frame {
  const security = securityHeaders(publicUrl);
  const jsonHeaders = Object.freeze({ ...security, "content-type": "application/json", "cache-control": "no-store" });
  return {
    security,
    jsonHeaders,
    json: <T, S extends ContentfulStatusCode>(body: T, status: S) =>
      new Response(JSON.stringify(body), { status, headers: jsonHeaders }) as Response & TypedResponse<JSONParsed<T>, S, "json">,
  };
}

/** A request slower than this is logged (at info) with its timing, even when it succeeded. */
export const SLOW_REQUEST_MS = 250;

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * A request's logger, made only when a line is written: the request id (the caller's
 * `X-Request-Id` when it is sane, else a fresh UUID) and the pino child exist from the first line on.
 */
export class RequestLog {
  #id: string | null = null;
  #child: Logger | null = null;
  constructor(
    private readonly root: Logger,
    private readonly incomingId: string | undefined,
  ) {}

  /** The request id, if a line was written (then the answer carries it as X-Request-Id). */
  get writtenId(): string | null {
    return this.#child ? this.#id : null;
  }

  get id(): string {
    return (this.#id ??= this.incomingId && REQUEST_ID.test(this.incomingId) ? this.incomingId : randomUUID());
  }

  #log(level: "debug" | "info" | "warn" | "error", obj: object, msg: string) {
    if (!this.root.isLevelEnabled(level)) return;
    this.#child ??= this.root.child({ reqId: this.id });
    this.#child[level](obj, msg);
  }
  debug(obj: object, msg: string) {
    this.#log("debug", obj, msg);
  }
  info(obj: object, msg: string) {
    this.#log("info", obj, msg);
  }
  warn(obj: object, msg: string) {
    this.#log("warn", obj, msg);
  }
  error(obj: object, msg: string) {
    this.#log("error", obj, msg);
  }
}
