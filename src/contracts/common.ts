import { z } from "@hono/zod-openapi";

export const ErrorCode = z.enum([
  "invalid_request",
  "unauthenticated",
  "forbidden",
  "not_found",
  "conflict",
  "billing_not_enabled",
  "insufficient_credits",
  "billing_unavailable",
  "payment_failed",
  "rate_limited",
  "pool_cap_reached",
  "payload_too_large",
  "internal_error",
  "service_unavailable",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** What an error's caller needs to act on it: a past-due plan's 409 names the unpaid invoice's link (credits.md). */
export const ErrorDetails = z.object({ hostedInvoiceUrl: z.string().nullable() }).partial();
export type ErrorDetails = z.infer<typeof ErrorDetails>;

export const ErrorBody = z
  .object({ error: z.object({ code: ErrorCode, message: z.string(), details: ErrorDetails.optional() }) })
  .openapi("Error");
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Money is integer minor units plus an ISO currency code; never floats. */
export const Money = z
  .object({ amount: z.number().int(), currency: z.string().length(3) })
  .openapi("Money");
export type Money = z.infer<typeof Money>;

/**
 * An id as callers may write it: a UUID in either case, read as PostgreSQL writes it (lower case), so
 * that `398AAAB0-...` and `398aaab0-...` name the same website everywhere, lookups in memory included.
 */
export const Id = z.string().uuid().toLowerCase();
export const Timestamp = z.string().datetime({ offset: true });

/** A calendar month, `YYYY-MM`, as the API takes it in a query (and the page in its address). */
export const YEAR_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
