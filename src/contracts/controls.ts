import { z } from "@hono/zod-openapi";

/** Pool controls (api.md "Controls"; credits.md "Pool controls"). */

export const MAX_THRESHOLD = 1_000_000_000;
const Threshold = z.number().int().min(0).max(MAX_THRESHOLD);

export const AutoTopUp = z
  .object({
    /** A top-up starts when the pool's available credits fall below this. */
    threshold: Threshold,
    /** Packages bought per top-up (1..50, like any purchase). */
    packages: z.number().int().min(1).max(50),
    /** Most top-ups per calendar month (UTC). */
    maxPerMonth: z.number().int().min(1).max(100),
  })
  .strict()
  .openapi("AutoTopUp");
export type AutoTopUp = z.infer<typeof AutoTopUp>;

export const WebhookUrl = z.string().min(1).max(2048);

/** PUT: a field left out keeps its value; null clears it. */
export const ControlSettingsBody = z
  .object({
    lowBalanceThreshold: Threshold.nullable().optional(),
    alertWebhookUrl: WebhookUrl.nullable().optional(),
    autoTopUp: AutoTopUp.nullable().optional(),
  })
  .strict()
  .openapi("ControlSettingsRequest");
export type ControlSettingsBody = z.infer<typeof ControlSettingsBody>;

export const ControlSettings = z
  .object({
    lowBalanceThreshold: z.number().int().nullable(),
    alertWebhookUrl: z.string().nullable(),
    autoTopUp: AutoTopUp.nullable(),
    webhookSigningSecret: z.string(),
    autoTopUpDisabledReason: z.string().nullable(),
    /** The pool is below the low-balance threshold (the page's amber banner). */
    poolLow: z.boolean(),
    /** The pool's available credits (monthly + one-time) now. */
    poolAvailable: z.number().int(),
  })
  .openapi("ControlSettings");
export type ControlSettings = z.infer<typeof ControlSettings>;

export const AlertType = z.enum(["group.credits.low", "group.credits.recovered", "group.auto_top_up.succeeded", "group.auto_top_up.failed", "test"]);
export type AlertType = z.infer<typeof AlertType>;

export const Alert = z.object({
  id: z.string(),
  type: AlertType,
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  attempts: z.number().int(),
  /** Why the last attempt failed, while it is not delivered. */
  lastError: z.string().nullable(),
});
export const AlertsResponse = z.object({ alerts: z.array(Alert) }).openapi("AlertsResponse");
export type AlertsResponse = z.infer<typeof AlertsResponse>;

export const TestEventResponse = z.object({ id: z.string(), status: z.literal("queued") });

export const PoolCapBody = z
  .object({ monthlyCredits: z.number().int().min(0).max(MAX_THRESHOLD).nullable() })
  .strict()
  .openapi("PoolCapRequest");
export type PoolCapBody = z.infer<typeof PoolCapBody>;

export const PoolCap = z
  .object({ websiteId: z.string(), monthlyCredits: z.number().int().nullable(), usedThisMonth: z.number().int() })
  .openapi("PoolCap");
export type PoolCap = z.infer<typeof PoolCap>;

export const PoolCapsResponse = z.object({ caps: z.array(PoolCap.extend({ name: z.string() })) }).openapi("PoolCapsResponse");
export type PoolCapsResponse = z.infer<typeof PoolCapsResponse>;

/** The JSON body POSTed to a group's alert webhook. */
export interface AlertEventBody {
  id: string;
  type: AlertType;
  createdAt: string;
  data: { groupId: string; available: number; threshold: number | null } & Record<string, unknown>;
}
