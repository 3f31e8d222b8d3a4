import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
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
  const bad = badText(value);
  return bad && `${where([...path, ...bad.at])}${bad.reason}`;
}

/** The first text the database cannot hold, and where: the path is built on the way out, only when one is found. */
function badText(value: unknown): { at: (string | number)[]; reason: string } | null {
  if (typeof value === "string") {
    if (!value.isWellFormed()) return { at: [], reason: "is not well-formed UTF-16 text (a lone surrogate)." };
    if (value.includes("\u0000")) return { at: [], reason: "must not contain NUL (U+0000) characters." };
    return null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = badText(value[i]);
      if (bad) return (bad.at.unshift(i), bad);
    }
    return null;
  }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const k in value) {
      // A bad key is reported at its object's path, a bad value under its key.
      const badKey = badText(k);
      if (badKey) return badKey;
      const bad = badText((value as Record<string, unknown>)[k]);
      if (bad) return (bad.at.unshift(k), bad);
    }
  }
  return null;
}
const where = (path: (string | number)[]) => (path.length ? `${path.join(".")}: ` : "Text ");

/** Items a route validates one at a time (each with its own answer); the router's hook leaves them alone. */
export class ValidatedPerItem {
  constructor(readonly items: unknown[]) {}
}

type Issue = { path: PropertyKey[]; message: string; code?: string; origin?: string; expected?: string };

/** An issue's text: "expected int, received number" said as a person would. */
const messageOf = (i: Issue) => (i.code === "invalid_type" && i.expected === "int" ? "Invalid input: expected a whole number" : i.message);

/**
 * zod issues as one short message, each problem once: a whole number past the contract's own
 * bound also passes JavaScript's safe-integer bound, and zod reports both; the contract's is the
 * one to say.
 */
export const describeIssues = (issues: readonly Issue[]) =>
  `Invalid request. ${issues
    .filter((i) => !(i.origin === "int" && issues.some((o) => o !== i && o.code === i.code && o.path.join(".") === i.path.join("."))))
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join(".")}: ${messageOf(i)}` : messageOf(i)))
    .join("; ")}`;

/**
 * Every part of every request (params, query, headers, JSON) is checked here, once: validation
 * failures and text the database cannot hold become 400 invalid_request before any route runs.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        // A JSON body sent as something else reaches the schema as nothing: say what is wrong with it.
        const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
        if (result.target === "json" && type !== "application/json") throw new AppError("invalid_request", "Content-Type must be application/json.");
        throw new AppError("invalid_request", describeIssues(result.error.issues));
      }
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

/**
 * For an action that takes no body (enable billing, open the portal, send a test event): none, an
 * empty one or `{}`; anything else is `invalid_request`, as an unknown field is elsewhere.
 */
export const noBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const text = (await c.req.text()).trim();
  if (text !== "") {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new AppError("invalid_request", "Invalid request. The body is not valid JSON.");
    }
    const empty = value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0;
    if (!empty) throw new AppError("invalid_request", "Invalid request. This action takes no body: send {} or nothing.");
  }
  await next();
};

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
