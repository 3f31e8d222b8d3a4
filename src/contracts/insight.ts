import { z } from "@hono/zod-openapi";
import { DateParam, Id, MonthParam } from "./common.js";
import { Balance, CreditSource, Credits } from "./usage.js";

export const UsageQuery = z.object({ month: MonthParam.optional() }).strict();

export const UsageDay = z.object({
  date: z.string(),
  website: z.number().int(),
  groupMonthly: z.number().int(),
  groupOneTime: z.number().int(),
});
export type UsageDay = z.infer<typeof UsageDay>;

export const UsageWebsite = z.object({
  websiteId: z.string(),
  name: z.string(),
  website: z.number().int(),
  groupMonthly: z.number().int(),
  groupOneTime: z.number().int(),
  poolCap: z.number().int().nullable(),
});
export type UsageWebsite = z.infer<typeof UsageWebsite>;

export const UsageReport = z
  .object({
    month: z.string(),
    days: z.array(UsageDay),
    websites: z.array(UsageWebsite),
    forecast: z.object({ poolEmptyOn: z.string().nullable(), monthlyUnusedAtPeriodEnd: z.number().int() }),
  })
  .openapi("UsageReport");
export type UsageReport = z.infer<typeof UsageReport>;

export const LedgerCsvQuery = z
  .object({ from: DateParam.optional(), to: DateParam.optional() })
  .strict()
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: "from must not be after to" });

export const LEDGER_CSV_COLUMNS = ["time", "entry_id", "kind", "source", "website_id", "website_name", "usage_event_id", "idempotency_key", "credits", "grant_id"] as const;

export const PreviewBody = z.object({ websiteId: Id, credits: Credits }).strict().openapi("UsagePreviewRequest");
export type PreviewBody = z.infer<typeof PreviewBody>;

export const PreviewResult = z
  .object({
    covered: z.boolean(),
    parts: z.array(z.object({ source: CreditSource, credits: z.number().int() })),
    balance: Balance,
  })
  .openapi("UsagePreview");
export type PreviewResult = z.infer<typeof PreviewResult>;
