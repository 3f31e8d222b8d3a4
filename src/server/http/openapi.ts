import { OpenAPIHono } from "@hono/zod-openapi";
import type { z, ZodType } from "zod";
import { ErrorBody } from "../../contracts/common.js";
import type { AppEnv } from "./context.js";
import { AppError } from "../errors.js";

/**
 * Why a request value's text cannot go to the database, or null: PostgreSQL text cannot hold
 * U+0000, and a lone UTF-16 surrogate ("\ud800") would be stored as U+FFFD, so a replayed key
 * would no longer match its first use. Walks plain objects and arrays only: a route that validates
 * items one by one (the usage batch) hands them over inside a `ValidatedPerItem`.
 */
export function findBadText(value: unknown, path: (string | number)[] = []): string | null {
  // The common case, found without building a path per value; the path only for the message.
  return path.length === 0 && !hasBadText(value) ? null : describeBadText(value, path);
}

function hasBadText(value: unknown): boolean {
  if (typeof value === "string") return !value.isWellFormed() || value.includes("\u0000");
  if (Array.isArray(value)) return value.some(hasBadText);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const k in value) if (hasBadText(k) || hasBadText((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}

function describeBadText(value: unknown, path: (string | number)[]): string | null {
  if (typeof value === "string") {
    if (!value.isWellFormed()) return `${where(path)}is not well-formed UTF-16 text (a lone surrogate).`;
    if (value.includes("\u0000")) return `${where(path)}must not contain NUL (U+0000) characters.`;
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = describeBadText(value[i], [...path, i]);
      if (bad) return bad;
    }
    return null;
  }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      const bad = describeBadText(k, path) ?? describeBadText(v, [...path, k]);
      if (bad) return bad;
    }
  }
  return null;
}
const where = (path: (string | number)[]) => (path.length ? `${path.join(".")}: ` : "Text ");

/** Items a route validates one at a time (each with its own answer); the router's hook leaves them alone. */
export class ValidatedPerItem {
  constructor(readonly items: unknown[]) {}
}

/** zod issues as one short message. */
export const describeIssues = (issues: readonly { path: PropertyKey[]; message: string }[]) =>
  `Invalid request. ${issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ")}`;

/**
 * Every part of every request (params, query, headers, JSON) is checked here, once: validation
 * failures and text the database cannot hold become 400 invalid_request before any route runs.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new AppError("invalid_request", describeIssues(result.error.issues));
      const bad = findBadText(result.data);
      if (bad) throw new AppError("invalid_request", `Invalid request. ${bad}`);
    },
  });
}

/** A JSON request body; `example` (typed by the schema, so it cannot drift) is shown in /api/openapi.json. */
export const jsonBody = <T extends ZodType>(schema: T, example?: z.input<T>) => ({
  required: true,
  content: { "application/json": { schema, ...(example === undefined ? {} : { example }) } },
});

/** A JSON answer; `example` (typed by the schema) is shown in /api/openapi.json. */
export const jsonResponse = <T extends ZodType>(schema: T, description: string, example?: z.output<T>) => ({
  description,
  content: { "application/json": { schema, ...(example === undefined ? {} : { example }) } },
});

export const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** The error answers every route may give, for the OpenAPI document. */
export const errorResponses = {
  400: errorResponse("invalid_request"),
  401: errorResponse("unauthenticated"),
  403: errorResponse("forbidden"),
  404: errorResponse("not_found"),
} as const;
