import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const id = () => uuid("id").primaryKey().defaultRandom();

/** The host platform's own id of an organization, group, website or user (operator API). */
const externalId = () => text("external_id");
/** Deleted by the operator: kept (billing records point at it) but no longer shown or synced. */
const deletedAt = () => timestamp("deleted_at", { withTimezone: true });

export const organizations = pgTable(
  "organizations",
  {
    id: id(),
    name: text("name").notNull(),
    partnerManaged: boolean("partner_managed").notNull().default(false),
    partnerAccountId: text("partner_account_id"),
    externalId: externalId(),
    deletedAt: deletedAt(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("organizations_external_uq").on(t.externalId).where(sql`${t.deletedAt} is null`)],
);

export const groups = pgTable(
  "groups",
  {
    id: id(),
    orgId: uuid("org_id").notNull().references(() => organizations.id),
    name: text("name").notNull(),
    externalId: externalId(),
    deletedAt: deletedAt(),
    createdAt: createdAt(),
  },
  (t) => [
    index("groups_org_idx").on(t.orgId),
    uniqueIndex("groups_external_uq").on(t.orgId, t.externalId).where(sql`${t.deletedAt} is null`),
  ],
);

export const websites = pgTable(
  "websites",
  {
    id: id(),
    orgId: uuid("org_id").notNull().references(() => organizations.id),
    groupId: uuid("group_id").references(() => groups.id),
    name: text("name").notNull(),
    url: text("url").notNull(),
    iconUrl: text("icon_url"),
    externalId: externalId(),
    deletedAt: deletedAt(),
    createdAt: createdAt(),
  },
  (t) => [
    index("websites_group_idx").on(t.groupId),
    index("websites_org_idx").on(t.orgId),
    uniqueIndex("websites_external_uq").on(t.externalId).where(sql`${t.deletedAt} is null`),
  ],
);

export const users = pgTable(
  "users",
  {
    id: id(),
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    /** Null for users who only sign in from the host platform (handoff). */
    passwordHash: text("password_hash"),
    externalId: externalId(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("users_external_uq").on(t.externalId)],
);

export const memberships = pgTable(
  "memberships",
  {
    id: id(),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    orgId: uuid("org_id").notNull().references(() => organizations.id),
    role: text("role", { enum: ["org_admin", "group_admin", "member"] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("memberships_user_org_uq").on(t.userId, t.orgId),
    check("memberships_role_ck", sql`${t.role} in ('org_admin', 'group_admin', 'member')`),
  ],
);

export const membershipGroups = pgTable(
  "membership_groups",
  {
    membershipId: uuid("membership_id").notNull().references(() => memberships.id, { onDelete: "cascade" }),
    groupId: uuid("group_id").notNull().references(() => groups.id),
  },
  (t) => [primaryKey({ columns: [t.membershipId, t.groupId] })],
);

export const sessions = pgTable(
  "sessions",
  {
    /** sha256 of the cookie token; the token itself is never stored. */
    tokenHash: text("token_hash").primaryKey(),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const loginAttempts = pgTable(
  "login_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    email: text("email").notNull(),
    /** The client's address (the socket's, or X-Forwarded-For through a trusted proxy). */
    clientAddress: text("client_address").notNull().default("unknown"),
    succeeded: boolean("succeeded").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("login_attempts_email_idx").on(t.email, t.createdAt), index("login_attempts_address_idx").on(t.clientAddress, t.createdAt)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    orgId: uuid("org_id").notNull().references(() => organizations.id),
    name: text("name").notNull(),
    /** sha256 of the key; the key is shown once at creation. */
    keyHash: text("key_hash").notNull().unique(),
    prefix: text("prefix").notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** Coarse: written at most every few minutes per key (triggers announce revocations, migration 0002). */
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
  },
  (t) => [index("api_keys_org_idx").on(t.orgId)],
);

/**
 * Outside answers shared by all processes (`invoices:<groupId>`) and marks of outside calls made
 * (`reconcile:<purchaseId>`). A null value with a recent `at` is a purge (migration 0002's triggers).
 */
export const outsideCalls = pgTable("outside_calls", {
  key: text("key").primaryKey(),
  value: jsonb("value"),
  at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
});

export const billingProfiles = pgTable(
  "billing_profiles",
  {
    groupId: uuid("group_id").primaryKey().references(() => groups.id),
    customerType: text("customer_type", { enum: ["standard", "partner"] }).notNull(),
    stripeCustomerId: text("stripe_customer_id").unique(),
    partnerAccountId: text("partner_account_id"),
    createdAt: createdAt(),
  },
  (t) => [
    check("billing_profiles_type_ck", sql`${t.customerType} in ('standard', 'partner')`),
    check(
      "billing_profiles_customer_ck",
      sql`(${t.customerType} = 'partner') or (${t.stripeCustomerId} is not null)`,
    ),
  ],
);

/** A monthly plan: at most one per group. */
export const plans = pgTable(
  "plans",
  {
    id: id(),
    groupId: uuid("group_id").notNull().references(() => groups.id),
    provider: text("provider", { enum: ["stripe", "partner"] }).notNull(),
    stripeSubscriptionId: text("stripe_subscription_id").unique(),
    quantity: integer("quantity").notNull(),
    status: text("status", { enum: ["active", "canceled", "past_due"] }).notNull(),
    currentPeriodStart: timestamp("current_period_start", { withTimezone: true }).notNull(),
    currentPeriodEnd: timestamp("current_period_end", { withTimezone: true }).notNull(),
    cancelAtPeriodEnd: boolean("cancel_at_period_end").notNull().default(false),
    /** False while Stripe's subscription quantity may differ from `quantity` (a raise applied here, not yet sent). */
    quantitySynced: boolean("quantity_synced").notNull().default(true),
    /** Packages from the next period when the customer lowered the plan in the Stripe portal, else null. */
    nextPeriodQuantity: integer("next_period_quantity"),
    /** Set while a partner renewal's charge is in flight (claimed by one process). */
    renewalClaimedAt: timestamp("renewal_claimed_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("plans_group_uq").on(t.groupId),
    check("plans_quantity_ck", sql`${t.quantity} between 1 and 1000`),
    check("plans_period_ck", sql`${t.currentPeriodEnd} > ${t.currentPeriodStart}`),
  ],
);

export const purchases = pgTable(
  "purchases",
  {
    id: id(),
    groupId: uuid("group_id").notNull().references(() => groups.id),
    type: text("type", { enum: ["one_time", "monthly"] }).notNull(),
    quantity: integer("quantity").notNull(),
    credits: bigint("credits", { mode: "number" }).notNull(),
    amount: bigint("amount", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    provider: text("provider", { enum: ["stripe", "partner"] }).notNull(),
    status: text("status", { enum: ["pending", "completed", "failed", "cancelled"] }).notNull(),
    idempotencyKey: text("idempotency_key"),
    stripeCheckoutSessionId: text("stripe_checkout_session_id").unique(),
    partnerChargeId: text("partner_charge_id").unique(),
    failureReason: text("failure_reason"),
    /** A monthly purchase that raises the group's live plan (an invoice charged now) rather than starting one. */
    raisesPlan: boolean("raises_plan").notNull().default(false),
    /** The invoice that charges a plan raise. */
    stripeInvoiceId: text("stripe_invoice_id").unique(),
    /** The subscription our Checkout Session created (a subscription is ours only through this). */
    stripeSubscriptionId: text("stripe_subscription_id"),
    /** Last time the settling loop asked the provider about this pending purchase. */
    checkedAt: timestamp("checked_at", { withTimezone: true }),
    /**
     * Failed only because the partner had no charge for its key when the settling loop looked (its
     * outcome was unknown): a slow partner may commit it later, so it is read back for a while.
     */
    chargeNotFound: boolean("charge_not_found").notNull().default(false),
    createdAt: createdAt(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    index("purchases_group_idx").on(t.groupId, t.createdAt),
    index("purchases_pending_idx").on(t.createdAt).where(sql`${t.status} = 'pending'`),
    uniqueIndex("purchases_idem_uq").on(t.groupId, t.idempotencyKey),
    check("purchases_quantity_ck", sql`${t.quantity} between 1 and 50`),
    check("purchases_credits_ck", sql`${t.credits} > 0 and ${t.amount} >= 0`),
  ],
);

/**
 * Every credit lives in a grant. `remaining` is the grant's balance and always equals the sum
 * of its ledger entries; `granted` is the sum of its grant entries.
 */
export const creditGrants = pgTable(
  "credit_grants",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    kind: text("kind", { enum: ["website", "monthly", "one_time"] }).notNull(),
    websiteId: uuid("website_id").references(() => websites.id),
    groupId: uuid("group_id").references(() => groups.id),
    granted: bigint("granted", { mode: "number" }).notNull(),
    remaining: bigint("remaining", { mode: "number" }).notNull(),
    packages: integer("packages"),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    periodStart: timestamp("period_start", { withTimezone: true }),
    /** Set once the remainder of an expired grant has been written to the ledger. */
    expiredAt: timestamp("expired_at", { withTimezone: true }),
    purchaseId: uuid("purchase_id").references(() => purchases.id),
    /** What produced the grant (a purchase, an invoice, an API idempotency key): one grant each. */
    sourceKey: text("source_key").unique(),
    /** Raised under the grants' locks whenever a pool cap or the pool's controls are set (0018): a debit planned before fails and plans again. */
    poolEpoch: integer("pool_epoch").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    check("credit_grants_remaining_ck", sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.granted}`),
    check("credit_grants_kind_ck", sql`${t.kind} in ('website', 'monthly', 'one_time')`),
    check(
      "credit_grants_owner_ck",
      sql`(${t.kind} = 'website' and ${t.websiteId} is not null and ${t.groupId} is null) or (${t.kind} <> 'website' and ${t.groupId} is not null and ${t.websiteId} is null)`,
    ),
    check("credit_grants_monthly_ck", sql`${t.kind} <> 'monthly' or (${t.expiresAt} is not null and ${t.periodStart} is not null)`),
    // No index may name `remaining` (0007_hot_path, which also sets fillfactor 50): a debit then
    // updates the grant in place (HOT).
    index("credit_grants_website_idx").on(t.websiteId),
    index("credit_grants_group_all_idx").on(t.groupId, t.kind, t.createdAt),
  ],
);

/**
 * Hot tables: no foreign keys on usage_events and ledger_entries (0007_hot_path). The debit
 * transaction guarantees the references (it reads the website, locks the grants and inserts the
 * event in the statement that writes its entries); ledger/invariant.ts checks them.
 */
export const usageEvents = pgTable(
  "usage_events",
  {
    /** Time-ordered (UUID version 7, ledger/event-id.ts): a ledger window's events share index pages. */
    id: uuid("id").primaryKey(),
    orgId: uuid("org_id").notNull(),
    websiteId: uuid("website_id").notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    credits: bigint("credits", { mode: "number" }).notNull(),
    /**
     * The first answer, returned again for a replay of the same key and body: its balance and parts
     * as numbers (ledger/event-answer.ts, 0015); `response` holds the whole answer of rows written before.
     */
    answer: bigint("answer", { mode: "number" }).array(),
    response: jsonb("response"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("usage_events_idem_uq").on(t.orgId, t.idempotencyKey),
    check("usage_events_credits_ck", sql`${t.credits} > 0`),
    check("usage_events_answer_ck", sql`${t.answer} is not null or ${t.response} is not null`),
  ],
);

export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    grantId: bigint("grant_id", { mode: "number" }).notNull(),
    kind: text("kind", { enum: ["grant", "debit", "expiry", "adjustment"] }).notNull(),
    amount: bigint("amount", { mode: "number" }).notNull(),
    usageEventId: uuid("usage_event_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("ledger_entries_grant_idx").on(t.grantId),
    check("ledger_entries_kind_ck", sql`${t.kind} in ('grant', 'debit', 'expiry', 'adjustment')`),
    check(
      "ledger_entries_sign_ck",
      sql`(${t.kind} = 'grant' and ${t.amount} > 0) or (${t.kind} in ('debit', 'expiry') and ${t.amount} < 0) or (${t.kind} = 'adjustment' and ${t.amount} <> 0)`,
    ),
  ],
);

/**
 * Credits debited per group, website and UTC day, by source (positive numbers). Written by the
 * ledger's debit statement (ledger/debit-usage.ts, migration 0008) in the debits' own statement;
 * nothing else writes it.
 */
export const usageDaily = pgTable(
  "usage_daily",
  {
    groupId: uuid("group_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    websiteId: uuid("website_id").notNull(),
    website: bigint("website", { mode: "number" }).notNull().default(0),
    groupMonthly: bigint("group_monthly", { mode: "number" }).notNull().default(0),
    groupOneTime: bigint("group_one_time", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ name: "usage_daily_pk", columns: [t.groupId, t.day, t.websiteId] })],
);

/** Paid invoices we learned of (Stripe webhooks, partner charges): our own record of history. */
export const invoices = pgTable(
  "invoices",
  {
    id: id(),
    groupId: uuid("group_id").notNull().references(() => groups.id),
    provider: text("provider", { enum: ["stripe", "partner"] }).notNull(),
    externalId: text("external_id").notNull().unique(),
    number: text("number"),
    description: text("description").notNull(),
    amount: bigint("amount", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    paidAt: timestamp("paid_at", { withTimezone: true }).notNull(),
    hostedInvoiceUrl: text("hosted_invoice_url"),
    createdAt: createdAt(),
  },
  (t) => [index("invoices_group_paid_idx").on(t.groupId, t.paidAt)],
);

export const webhookEvents = pgTable("webhook_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  payload: jsonb("payload").notNull(),
  receivedAt: createdAt(),
  processedAt: timestamp("processed_at", { withTimezone: true }),
});

/**
 * A group's pool controls (issue 14): alert threshold and webhook, auto top-up, and the pool's
 * state (`is_low`), flipped only under this row's lock so each crossing is seen once.
 */
export const groupControls = pgTable(
  "group_controls",
  {
    groupId: uuid("group_id").primaryKey().references(() => groups.id),
    lowBalanceThreshold: bigint("low_balance_threshold", { mode: "number" }),
    alertWebhookUrl: text("alert_webhook_url"),
    webhookSigningSecret: text("webhook_signing_secret").notNull(),
    autoTopUpThreshold: bigint("auto_top_up_threshold", { mode: "number" }),
    autoTopUpPackages: integer("auto_top_up_packages"),
    autoTopUpMaxPerMonth: integer("auto_top_up_max_per_month"),
    autoTopUpEnabled: boolean("auto_top_up_enabled").notNull().default(false),
    autoTopUpDisabledReason: text("auto_top_up_disabled_reason"),
    isLow: boolean("is_low").notNull().default(false),
    /** Number of the last auto top-up started: (group, seq) identifies a crossing's purchase. */
    topUpSeq: integer("top_up_seq").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("group_controls_threshold_ck", sql`${t.lowBalanceThreshold} is null or ${t.lowBalanceThreshold} >= 0`),
    check(
      "group_controls_top_up_ck",
      sql`not ${t.autoTopUpEnabled} or (${t.autoTopUpThreshold} >= 0 and ${t.autoTopUpPackages} between 1 and 50 and ${t.autoTopUpMaxPerMonth} >= 1)`,
    ),
  ],
);

/** A website's monthly cap on pool credits, and what it drew from the pool in `used_month` (YYYY-MM, UTC). */
export const websitePoolCaps = pgTable(
  "website_pool_caps",
  {
    websiteId: uuid("website_id").primaryKey().references(() => websites.id),
    /** The cap belongs to the website in this group; it does not apply in any other. */
    groupId: uuid("group_id").notNull().references(() => groups.id),
    monthlyCredits: bigint("monthly_credits", { mode: "number" }).notNull(),
    usedMonth: text("used_month").notNull(),
    usedCredits: bigint("used_credits", { mode: "number" }).notNull().default(0),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("website_pool_caps_group_idx").on(t.groupId),
    check("website_pool_caps_ck", sql`${t.monthlyCredits} >= 0 and ${t.usedCredits} >= 0`),
  ],
);

/** Outgoing webhook events, written in the transaction of the change they report; delivered by any process. */
export const alertOutbox = pgTable(
  "alert_outbox",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    groupId: uuid("group_id").notNull().references(() => groups.id),
    type: text("type").notNull(),
    payload: jsonb("payload").notNull(),
    /** Where to deliver (the group's URL when the event was written); null: nothing to deliver. */
    url: text("url"),
    attempts: integer("attempts").notNull().default(0),
    /** When the next attempt is due (also the lease of a claimed attempt); null once delivered or given up. */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    lastError: text("last_error"),
    createdAt: createdAt(),
  },
  (t) => [
    index("alert_outbox_group_idx").on(t.groupId, t.createdAt),
    index("alert_outbox_due_idx").on(t.nextAttemptAt).where(sql`${t.nextAttemptAt} is not null`),
  ],
);

/** One auto top-up per (group, crossing); at most one pending per group. */
export const autoTopUps = pgTable(
  "auto_top_ups",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    groupId: uuid("group_id").notNull().references(() => groups.id),
    seq: integer("seq").notNull(),
    month: text("month").notNull(),
    packages: integer("packages").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    purchaseId: uuid("purchase_id").references(() => purchases.id),
    attempts: integer("attempts").notNull().default(0),
    claimedUntil: timestamp("claimed_until", { withTimezone: true }),
    failureReason: text("failure_reason"),
    createdAt: createdAt(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("auto_top_ups_crossing_uq").on(t.groupId, t.seq),
    uniqueIndex("auto_top_ups_in_flight_uq").on(t.groupId).where(sql`${t.status} = 'pending'`),
    index("auto_top_ups_month_idx").on(t.groupId, t.month),
    check("auto_top_ups_status_ck", sql`${t.status} in ('pending', 'succeeded', 'failed')`),
  ],
);

/** Handoff tokens already used: a `jti` signs in once, across every API process. */
export const handoffTokens = pgTable(
  "handoff_tokens",
  {
    jti: text("jti").primaryKey(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("handoff_tokens_expires_idx").on(t.expiresAt)],
);

/** Finished steps of the demo load (migration 0010): an interrupted load resumes; `complete` ends it. */
export const demoSteps = pgTable("demo_steps", {
  step: text("step").primaryKey(),
  doneAt: timestamp("done_at", { withTimezone: true }).notNull().defaultNow(),
});
