import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { ErrorBody } from "../../contracts/common.js";
import type { AppEnv } from "./context.js";
import { AppError } from "../errors.js";

/** PostgreSQL text cannot hold U+0000: a string with it would fail in the database (a 500, and a failed usage batch). */
function containsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === "object") return Object.values(value).some(containsNul);
  return false;
}

/** Validation failures of any part of a request become 400 invalid_request with the zod issues summarized. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues
          .slice(0, 5)
          .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message));
        throw new AppError("invalid_request", `Invalid request. ${issues.join("; ")}`);
      }
      if (containsNul(result.data)) throw new AppError("invalid_request", "Invalid request. Text must not contain NUL (U+0000) characters.");
    },
  });
}

export const jsonBody = <T extends ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** The error answers every route may give, for the OpenAPI document. */
export const errorResponses = {
  400: errorResponse("invalid_request"),
  401: errorResponse("unauthenticated"),
  403: errorResponse("forbidden"),
  404: errorResponse("not_found"),
} as const;
