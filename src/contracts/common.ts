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
/** The years a date or month may name: PostgreSQL has no year 0, and the day after the last must still be a date. */
const FIRST_YEAR = 1970;
const LAST_YEAR = 9998;
const inYears = (s: string) => Number(s.slice(0, 4)) >= FIRST_YEAR && Number(s.slice(0, 4)) <= LAST_YEAR;
/** `YYYY-MM` of a year the API can answer for (the page's address is read the same way). */
export const isYearMonth = (s: string) => YEAR_MONTH.test(s) && inYears(s);
export const MonthParam = z.string().regex(YEAR_MONTH, "month must be YYYY-MM").refine(inYears, `month must be from ${FIRST_YEAR}-01 to ${LAST_YEAR}-12`);
export const DateParam = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "dates are YYYY-MM-DD")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "not a calendar date")
  .refine(inYears, `dates must be from ${FIRST_YEAR}-01-01 to ${LAST_YEAR}-12-31`);
