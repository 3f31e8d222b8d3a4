import { z } from "@hono/zod-openapi";
import { Money, MonthParam } from "./common.js";

export const CustomerType = z.enum(["standard", "partner"]);
export type CustomerType = z.infer<typeof CustomerType>;

export const MonthlyCredits = z.object({
  total: z.number().int(),
  used: z.number().int(),
  remaining: z.number().int(),
  packages: z.number().int(),
  periodStart: z.string(),
  periodEnd: z.string(),
});
export type MonthlyCredits = z.infer<typeof MonthlyCredits>;

export const OneTimeCredits = z.object({
  total: z.number().int(),
  used: z.number().int(),
  remaining: z.number().int(),
});
export type OneTimeCredits = z.infer<typeof OneTimeCredits>;

export const Pricing = z.object({
  creditsPerPackage: z.number().int(),
  minQuantity: z.literal(1),
  maxQuantity: z.literal(50),
  oneTime: Money,
  monthly: Money,
});
export type Pricing = z.infer<typeof Pricing>;

export const PlanSummary = z
  .object({
    packages: z.number().int(),
    /** Per period, for all packages. */
    price: Money,
    status: z.enum(["active", "past_due", "canceling"]),
    currentPeriodEnd: z.string(),
    cancelAt: z.string().nullable(),
    /** Packages from the next period when the customer lowered the plan (Stripe portal), else null. */
    nextPeriodPackages: z.number().int().nullable(),
  })
  .openapi("PlanSummary");
export type PlanSummary = z.infer<typeof PlanSummary>;

export const BillingSummary = z
  .object({
    enabled: z.boolean(),
    customerType: CustomerType.nullable(),
    partnerPortalUrl: z.string().nullable(),
    pricing: Pricing,
    credits: z.object({ monthly: MonthlyCredits.nullable(), oneTime: OneTimeCredits.nullable() }),
    plan: PlanSummary.nullable(),
  })
  .openapi("BillingSummary");
export type BillingSummary = z.infer<typeof BillingSummary>;

export const EnableBillingResponse = z.object({ enabled: z.literal(true), customerType: CustomerType });

export const PurchaseType = z.enum(["one_time", "monthly"]);
export type PurchaseType = z.infer<typeof PurchaseType>;

export const PurchaseBody = z
  .object({
    type: PurchaseType,
    quantity: z.number().int().min(1).max(50),
    /** What the page showed as due now (minor units); a different price answers 409 conflict. */
    expectedDueNow: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
  .openapi("PurchaseRequest");
export type PurchaseBody = z.infer<typeof PurchaseBody>;

export const PurchasePreviewBody = z
  .object({ type: PurchaseType, quantity: z.number().int().min(1).max(50) })
  .strict()
  .openapi("PurchasePreviewRequest");

export const PurchasePreview = z
  .object({
    credits: z.number().int(),
    dueNow: Money,
    recurring: Money.nullable(),
    plan: z.object({ fromPackages: z.number().int(), toPackages: z.number().int() }).nullable(),
  })
  .openapi("PurchasePreview");
export type PurchasePreview = z.infer<typeof PurchasePreview>;

export const PurchaseResponse = z
  .discriminatedUnion("status", [
    z.object({ status: z.literal("redirect"), url: z.string(), purchaseId: z.string() }),
    z.object({ status: z.literal("completed"), credits: z.number().int(), purchaseId: z.string() }),
    z.object({ status: z.literal("pending"), purchaseId: z.string() }),
  ])
  .openapi("PurchaseResponse");
export type PurchaseResponse = z.infer<typeof PurchaseResponse>;

/** State of one purchase, polled by the page after returning from Checkout. */
export const PurchaseStatus = z
  .object({
    id: z.string(),
    type: PurchaseType,
    quantity: z.number().int(),
    credits: z.number().int(),
    /** `open`: a Checkout not yet paid; `pending`: a payment whose outcome is not yet known. */
    status: z.enum(["open", "pending", "completed", "failed", "expired"]),
    failureReason: z.string().nullable(),
  })
  .openapi("PurchaseStatus");
export type PurchaseStatus = z.infer<typeof PurchaseStatus>;

export const Invoice = z
  .object({
    id: z.string(),
    number: z.string().nullable(),
    paidAt: z.string(),
    description: z.string(),
    total: Money,
    hostedInvoiceUrl: z.string().nullable(),
  })
  .openapi("Invoice");
export type Invoice = z.infer<typeof Invoice>;

export const InvoicesQuery = z
  .object({ month: MonthParam.optional() })
  .strict();
export const InvoicesResponse = z
  .object({ months: z.array(z.string()), invoices: z.array(Invoice) })
  .openapi("InvoicesResponse");
export type InvoicesResponse = z.infer<typeof InvoicesResponse>;

/** `POST .../billing/portal`: where "Manage plan" (standard) or "Manage subscription" (partner) leads. */
export const PortalSessionResponse = z.object({ url: z.string() }).openapi("PortalSession");
export type PortalSessionResponse = z.infer<typeof PortalSessionResponse>;
