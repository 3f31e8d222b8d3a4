import { z } from "@hono/zod-openapi";
import { Id } from "./common.js";

export const MAX_CREDITS = 1_000_000_000;
export const Credits = z.number().int().min(1).max(MAX_CREDITS);
export const IdempotencyKey = z.string().min(1).max(255);

export const UsageBody = z
  .object({ websiteId: Id, credits: Credits, idempotencyKey: IdempotencyKey })
  .strict()
  .openapi("UsageRequest");
export type UsageBody = z.infer<typeof UsageBody>;

export const CreditSource = z.enum(["website", "group_monthly", "group_one_time"]);
export type CreditSource = z.infer<typeof CreditSource>;

export const Balance = z.object({
  website: z.number().int(),
  groupMonthly: z.number().int(),
  groupOneTime: z.number().int(),
});
export type Balance = z.infer<typeof Balance>;

export const UsageResult = z
  .object({
    id: z.string(),
    websiteId: z.string(),
    credits: z.number().int(),
    parts: z.array(z.object({ source: CreditSource, credits: z.number().int() })),
    balance: Balance,
  })
  .openapi("UsageResult");
export type UsageResult = z.infer<typeof UsageResult>;

/** Limits of the batch endpoint. */
export const MAX_BATCH = 1000;
/**
 * The batch endpoint's body limit: MAX_BATCH events of the largest valid size (a 255-character key
 * written as \uXXXX escapes is 1,530 bytes; with the id, credits and names about 1,650 per event),
 * with room for whitespace. Other JSON endpoints take 1 MB.
 */
export const MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024;
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Each event is checked on its own by the route (a `UsageRequest`), so a bad one gets its own 400
 * result and its neighbours are processed.
 */
export const UsageBatchBody = z
  .object({
    events: z
      .array(z.unknown().openapi({ description: "A UsageRequest; an invalid one gets its own 400 result" }))
      .min(1)
      .max(MAX_BATCH),
  })
  .strict()
  .openapi("UsageBatchRequest");

export const UsageBatchItem = z.union([
  z.object({ status: z.literal(200), result: UsageResult }),
  z.object({
    // 401: the API key was revoked while the batch was being debited (events debited before stay debited).
    status: z.union([z.literal(400), z.literal(401), z.literal(402), z.literal(404), z.literal(409), z.literal(500)]),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export const UsageBatchResponse = z.object({ results: z.array(UsageBatchItem) }).openapi("UsageBatchResponse");
export type UsageBatchResponse = z.infer<typeof UsageBatchResponse>;

export const GrantBody = z
  .object({ credits: Credits, idempotencyKey: IdempotencyKey, expiresAt: z.string().datetime({ offset: true }).optional() })
  .strict()
  .openapi("WebsiteGrantRequest");
export type GrantBody = z.infer<typeof GrantBody>;
export const GrantCreated = z
  .object({ id: z.string(), websiteId: z.string(), credits: z.number().int(), expiresAt: z.string().nullable() })
  .openapi("WebsiteGrant");

export const BalanceResponse = Balance.extend({
  /** What the website's next event may take: its own credits and the pool, no more of the pool than its cap leaves this month. */
  available: z.number().int(),
  /** Pool credits the website's cap leaves it this month; null without a cap. */
  poolCapLeft: z.number().int().nullable(),
}).openapi("WebsiteBalance");
export type BalanceResponse = z.infer<typeof BalanceResponse>;
