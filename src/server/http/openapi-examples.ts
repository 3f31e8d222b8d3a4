/**
 * Examples shown in /api/openapi.json next to each operation's request and answer. Each is typed
 * by its contract, so a renamed or dropped field fails the typecheck instead of leaving a stale
 * example. One group ("Online Stores") and one website ("Acme Shoes") run through all of them.
 */
import type { ApiKeyCreated, CreateApiKeyBody } from "../../contracts/api-keys.js";
import type { BillingSummary, InvoicesResponse, PortalSessionResponse, PurchaseBody, PurchasePreview, PurchaseResponse, PurchaseStatus } from "../../contracts/billing.js";
import type { AlertsResponse, ControlSettings, ControlSettingsBody, PoolCap, PoolCapBody, PoolCapsResponse } from "../../contracts/controls.js";
import type { GroupDetail, GroupsResponse, OrgsResponse } from "../../contracts/groups.js";
import type { PreviewBody, PreviewResult, UsageReport } from "../../contracts/insight.js";
import type { SessionResponse } from "../../contracts/session.js";
import type { BalanceResponse, GrantBody, UsageBody, UsageResult } from "../../contracts/usage.js";

const ORG_ID = "990a7051-b21b-4be5-b7a0-829a727f4f2e";
const GROUP_ID = "0b9c6a7e-3f1d-4c55-9a43-6f1f0f2d7c11";
const WEBSITE_ID = "29b871b5-3cf2-4498-9065-3c60396e23ac";
const OTHER_WEBSITE_ID = "7d3e5c1a-94b2-4f6e-8a0d-2c4b6e8f1a3d";
const USER = { id: "4c2a9e61-0d7b-4f38-b1e5-93a7c0d2e4f6", email: "dana@acme.example", name: "Dana Whitfield" };
const usd = (amount: number) => ({ amount, currency: "usd" });

export const sessionLoginBody = { email: "org-admin@demo.test", password: "demo-password" };
export const sessionLoginResult = { user: USER };
export const sessionResult: SessionResponse = { user: USER, memberships: [{ orgId: ORG_ID, role: "org_admin" }] };

export const orgsResult: OrgsResponse = { orgs: [{ id: ORG_ID, name: "Acme Retail", partnerManaged: false }] };
export const groupsResult: GroupsResponse = {
  groups: [
    { id: GROUP_ID, name: "Online Stores", websiteCount: 14, billingEnabled: true },
    { id: "5e8f0a2b-6c4d-4e1f-9b3a-7d5c2e0f8a61", name: "Marketing Sites", websiteCount: 6, billingEnabled: false },
  ],
};
export const groupResult: GroupDetail = {
  id: GROUP_ID,
  orgId: ORG_ID,
  name: "Online Stores",
  websites: [
    { id: WEBSITE_ID, name: "Acme Shoes", url: "https://shoes.acme.example", iconUrl: "https://shoes.acme.example/favicon.ico" },
    { id: OTHER_WEBSITE_ID, name: "Acme Hats", url: "https://hats.acme.example", iconUrl: null },
  ],
};

export const apiKeyBody: CreateApiKeyBody = { name: "Production servers" };
export const apiKeyCreated: ApiKeyCreated = { id: "5f0c2f4e-8d4f-4a59-9d1e-0b8f3c1a2b3c", name: "Production servers", key: "gbk_3q2V…" };

export const usageBody: UsageBody = { websiteId: WEBSITE_ID, credits: 25, idempotencyKey: "order-1042" };
export const usageResult: UsageResult = {
  id: "1c995438-f8b9-4ef0-9bba-7bbf928d689f",
  websiteId: WEBSITE_ID,
  credits: 25,
  parts: [
    { source: "website", credits: 10 },
    { source: "group_monthly", credits: 15 },
  ],
  balance: { website: 0, groupMonthly: 12_385, groupOneTime: 1_600 },
};
export const usageBatchBody = {
  events: [
    { websiteId: WEBSITE_ID, credits: 5, idempotencyKey: "evt-1" },
    { websiteId: OTHER_WEBSITE_ID, credits: 0, idempotencyKey: "evt-2" },
  ],
};
export const usageBatchResult = {
  results: [
    {
      status: 200 as const,
      result: { ...usageResult, id: "9f0aab78-9c07-41bb-8721-2761cd832b6f", credits: 5, parts: [{ source: "group_monthly" as const, credits: 5 }] },
    },
    { status: 400 as const, error: { code: "invalid_request", message: "Invalid request. credits: Too small: expected number to be >=1" } },
  ],
};
export const grantBody: GrantBody = { credits: 500, idempotencyKey: "plan-upgrade-2026-11", expiresAt: "2026-12-31T23:59:59Z" };
export const grantResult = { id: "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b", websiteId: WEBSITE_ID, credits: 500, expiresAt: "2026-12-31T23:59:59.000Z" };
export const balanceResult: BalanceResponse = { website: 0, groupMonthly: 12_370, groupOneTime: 1_600, available: 13_970, poolCapLeft: null };
export const usagePreviewBody: PreviewBody = { websiteId: WEBSITE_ID, credits: 25 };
export const usagePreviewResult: PreviewResult = {
  covered: true,
  parts: [{ source: "group_monthly", credits: 25 }],
  balance: { website: 0, groupMonthly: 12_370, groupOneTime: 1_600 },
};

export const billingSummaryResult: BillingSummary = {
  enabled: true,
  customerType: "standard",
  partnerPortalUrl: null,
  pricing: { creditsPerPackage: 1_000, minQuantity: 1, maxQuantity: 50, oneTime: usd(1_000), monthly: usd(800) },
  credits: {
    monthly: { total: 20_000, used: 7_630, remaining: 12_370, packages: 20, periodStart: "2026-11-27T09:00:00.000Z", periodEnd: "2026-12-27T09:00:00.000Z" },
    oneTime: { total: 5_000, used: 3_400, remaining: 1_600 },
  },
  plan: { packages: 20, price: usd(16_000), status: "active", currentPeriodEnd: "2026-12-27T09:00:00.000Z", cancelAt: null, nextPeriodPackages: null },
};
export const enableBillingResult = { enabled: true as const, customerType: "standard" as const };
export const purchaseBody: PurchaseBody = { type: "monthly", quantity: 3 };
export const purchaseResult: PurchaseResponse = {
  status: "redirect",
  url: "https://checkout.stripe.com/c/pay/cs_test_a1b2c3",
  purchaseId: "e7c1a3b5-2d4f-4a6b-8c0e-1f3a5b7d9e2c",
};
export const purchasePendingResult: PurchaseResponse = { status: "pending", purchaseId: "e7c1a3b5-2d4f-4a6b-8c0e-1f3a5b7d9e2c" };
export const purchasePreviewBody = { type: "monthly" as const, quantity: 1 };
export const portalSessionResult: PortalSessionResponse = { url: "https://billing.stripe.com/p/session/test_YWNjdF8xTz" };
export const purchasePreviewResult: PurchasePreview = { credits: 1_000, dueNow: usd(800), recurring: usd(2_400), plan: { fromPackages: 2, toPackages: 3 } };
export const purchaseStatusResult: PurchaseStatus = {
  id: "e7c1a3b5-2d4f-4a6b-8c0e-1f3a5b7d9e2c",
  type: "monthly",
  quantity: 3,
  credits: 3_000,
  status: "completed",
  failureReason: null,
};
export const invoicesResult: InvoicesResponse = {
  months: ["2026-11", "2026-10"],
  invoices: [
    {
      id: "in_1QbcDeFgHiJkLm",
      number: "A1B2C3D4-0007",
      paidAt: "2026-11-27T09:00:00.000Z",
      description: "Monthly credits · 20 packages (20,000 credits)",
      total: usd(16_000),
      hostedInvoiceUrl: "https://invoice.stripe.com/i/acct_1/test_YWNjdF8x",
    },
  ],
};

export const usageReportResult: UsageReport = {
  month: "2026-11",
  days: [{ date: "2026-11-26", website: 120, groupMonthly: 840, groupOneTime: 0 }],
  websites: [{ websiteId: WEBSITE_ID, name: "Acme Shoes", website: 120, groupMonthly: 3_150, groupOneTime: 400, poolCap: 5_000 }],
  forecast: { poolEmptyOn: "2026-12-19", monthlyUnusedAtPeriodEnd: 0 },
};
export const ledgerCsvExample =
  "time,entry_id,kind,source,website_id,website_name,usage_event_id,idempotency_key,credits,grant_id\r\n" +
  `2026-11-26T14:03:11.204Z,8a1f…,debit,group_monthly,${WEBSITE_ID},Acme Shoes,1c99…,order-1042,-25,3b7e…\r\n`;

export const controlSettingsBody: ControlSettingsBody = {
  lowBalanceThreshold: 2_000,
  alertWebhookUrl: "https://hooks.acme.example/billing",
  autoTopUp: { threshold: 1_000, packages: 5, maxPerMonth: 3 },
};
export const controlSettingsResult: ControlSettings = {
  lowBalanceThreshold: 2_000,
  alertWebhookUrl: "https://hooks.acme.example/billing",
  autoTopUp: { threshold: 1_000, packages: 5, maxPerMonth: 3 },
  webhookSigningSecret: "whsec_9f2c…",
  autoTopUpDisabledReason: null,
  poolLow: false,
  poolAvailable: 13_970,
};
export const testEventResult = { id: "a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e1b", status: "queued" as const };
export const alertsResult: AlertsResponse = {
  alerts: [
    { id: "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b", type: "group.credits.low", createdAt: "2026-11-26T14:03:12.000Z", deliveredAt: "2026-11-26T14:03:12.480Z", attempts: 1, lastError: null },
  ],
};
export const poolCapsResult: PoolCapsResponse = { caps: [{ websiteId: WEBSITE_ID, name: "Acme Shoes", monthlyCredits: 5_000, usedThisMonth: 3_550 }] };
export const poolCapBody: PoolCapBody = { monthlyCredits: 5_000 };
export const poolCapResult: PoolCap = { websiteId: WEBSITE_ID, monthlyCredits: 5_000, usedThisMonth: 3_550 };

export const stripeWebhookResult = { received: true as const, duplicate: false };
