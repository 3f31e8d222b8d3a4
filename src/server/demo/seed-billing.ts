import { systemClock, type Clock } from "../clock.js";
import type { StripeEmulator } from "../../emulators/stripe/index.js";
import type { Database, Query } from "../db/client.js";
import type { BillingService, GroupRef } from "../modules/billing/billing-service.js";
import { addMonths } from "../../domain/periods.js";
import { formatCount, lockGroupBilling } from "../modules/billing/billing-repo.js";
import { createUsageProcessor } from "../modules/credits/usage-processor.js";
import { debitUsageBatch, expireGrants, grantCredits, grantMonthlyPeriod, type UsageEvent } from "../modules/ledger/index.js";
import { COMPLETE_STEP, DIRECTORY_STEP, seedDirectory, type SeededGroup } from "./seed.js";

const DAY_MS = 86_400_000;

/**
 * Five months of a 15-package plan before today, paid monthly; in busy months the websites ran
 * past the monthly credits into one-time packages bought as top-ups on the period's tenth day.
 * Every invoice here has its grant, and the usage below (spread over the period's days) explains
 * what is left of each.
 */
const HISTORY = [
  { monthsAgo: 5, packages: 15, usage: 17_500, topUp: 6 },
  { monthsAgo: 4, packages: 15, usage: 14_200, topUp: 0 },
  { monthsAgo: 3, packages: 15, usage: 18_000, topUp: 4 },
  { monthsAgo: 2, packages: 15, usage: 13_800, topUp: 0 },
  { monthsAgo: 1, packages: 15, usage: 17_200, topUp: 2 },
] as const;

/**
 * The whole demo as one story: directory, billing enabled where api.md says, a history of paid
 * invoices with their grants and the usage that spent them, then today's real purchases through
 * the emulators (so Stripe's and our records agree) and today's usage.
 *
 * Resumable: every step is idempotent and recorded in `demo_steps` when done (the database-only
 * ones in the transaction that does them), so a load interrupted by a crash or an outage is
 * finished by the next start; `complete` is recorded last and only then may sign-ins be accepted.
 */
export async function seedDemoData({
  database,
  billing,
  stripeEmulator,
  clock = systemClock,
  onStep,
}: {
  database: Database;
  billing: BillingService;
  stripeEmulator: StripeEmulator | null;
  clock?: Clock;
  /** Told each finished step (logged by main.ts; tests interrupt the load there). */
  onStep?: (step: string) => void;
}) {
  const groups = await seedDirectory(database.db);
  onStep?.(DIRECTORY_STEP);
  const origin = await stepTime(database.query, DIRECTORY_STEP);
  const usage = createUsageProcessor({ database: database.lanes, clock });
  const step = async (name: string, work: () => Promise<void>) => {
    if (await stepTime(database.query, name)) return;
    await work();
    await recordStep(database.query, name);
    onStep?.(name);
  };

  for (const g of groups.filter((x) => x.billing)) {
    const ref: GroupRef = { id: g.id, orgId: g.orgId, name: g.name };
    await step(`enable:${g.name}`, async () => void (await billing.enable(ref)));
    const buy = (type: "one_time" | "monthly", quantity: number) =>
      step(`buy:${g.name}:${type}`, () => buyPackages({ database, billing, stripeEmulator, ref, type, quantity }));
    const spend = (credits: number, tag: string) => step(`usage:${g.name}:${tag}`, () => spendToday(usage, g, credits, tag));
    if (g.partnerManaged) {
      await buy("monthly", 10);
      await buy("one_time", 3);
      await spend(7_100, "monthly");
    } else if (stripeEmulator) {
      await seedHistory({ database, billing, stripeEmulator, group: g, origin: origin!, onStep });
      // Today: five one-time packages, mostly spent before a 20-package plan, which is a third used.
      await buy("one_time", 5);
      await spend(3_400, "one-time");
      await buy("monthly", 20);
      await spend(7_600, "monthly");
    }
  }
  await recordStep(database.query, COMPLETE_STEP);
  onStep?.(COMPLETE_STEP);
}

/** Record a step as done; false when it was recorded already. */
async function recordStep(query: Query, name: string) {
  const { rows } = await query("insert into demo_steps (step) values ($1) on conflict do nothing returning step", [name]);
  return rows.length > 0;
}

/** When a demo step was done, or null. */
async function stepTime(query: Query, name: string) {
  const { rows } = await query<{ done_at: Date }>("select done_at from demo_steps where step = $1", [name]);
  return rows[0]?.done_at ?? null;
}

/** A purchase through the product (Checkout paid on the emulator, or a partner charge), once. */
async function buyPackages({
  database,
  billing,
  stripeEmulator,
  ref,
  type,
  quantity,
}: {
  database: Database;
  billing: BillingService;
  stripeEmulator: StripeEmulator | null;
  ref: GroupRef;
  type: "one_time" | "monthly";
  quantity: number;
}) {
  const { body: r } = await billing.purchase(ref, { type, quantity }, `demo:${ref.id}:${type}`);
  if (r.status !== "redirect" || !stripeEmulator) return;
  const { rows } = await database.query<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [r.purchaseId]);
  const sessionId = rows[0]!.s;
  await stripeEmulator.payCheckoutSession(sessionId);
  // Paying an already paid session sends nothing: a load interrupted before its webhook was handled
  // gets the session's events again (handled at most once each).
  const resend = async () => {
    for (const e of stripeEmulator.events()) if ((e.data.object as { id?: string }).id === sessionId) await stripeEmulator.redeliver(e.id);
  };
  const until = Date.now() + 30_000;
  for (let i = 1; (await billing.getPurchase(ref, r.purchaseId)).status !== "completed"; i++) {
    if (Date.now() > until) throw new Error("demo purchase was not confirmed in time");
    if (i % 20 === 0) await resend();
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/**
 * The history of a standard group: the paid invoices on the Stripe emulator (imported with keys,
 * so an interrupted load finds them again), then one database transaction per month that grants
 * the month's invoices, debits the month's usage day by day at those days' times, and expires the
 * month's remainder at its end.
 */
async function seedHistory({
  database,
  billing,
  stripeEmulator,
  group,
  origin,
  onStep,
}: {
  database: Database;
  billing: BillingService;
  stripeEmulator: StripeEmulator;
  group: SeededGroup;
  origin: Date;
  onStep: ((step: string) => void) | undefined;
}) {
  const { config } = billing.deps;
  const perPackage = config.CREDITS_PER_PACKAGE;
  const { rows } = await database.query<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [group.id]);
  const customerId = rows[0]!.c;
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  const money = (minor: number) => new Intl.NumberFormat("en-US", { style: "currency", currency: config.CURRENCY }).format(minor / 100);
  const months = HISTORY.map((h) => {
    const start = addMonths(origin, -h.monthsAgo);
    return { ...h, start, end: addMonths(origin, -h.monthsAgo + 1), topUpAt: new Date(start.getTime() + 9 * DAY_MS + 3_600_000) };
  });
  const invoices = months.flatMap((m) => [
    {
      key: `demo-history:${group.id}:${m.monthsAgo}:monthly`,
      customerId,
      description: `${m.packages} × ${formatCount(perPackage)} group credits (monthly) (at ${money(config.PRICE_MONTHLY)} / month)`,
      unitAmount: config.PRICE_MONTHLY,
      quantity: m.packages,
      currency: config.CURRENCY,
      interval: "month" as const,
      paidAt: seconds(m.start),
      periodEnd: seconds(m.end),
      // What the invoice wording (list-invoices) reads instead of the text; ours carry a purchase id.
      metadata: { lineKind: "monthly" },
    },
    ...(m.topUp > 0
      ? [
          {
            key: `demo-history:${group.id}:${m.monthsAgo}:one_time`,
            customerId,
            description: `${m.topUp} × ${formatCount(perPackage)} group credits (one-time) (at ${money(config.PRICE_ONE_TIME)})`,
            unitAmount: config.PRICE_ONE_TIME,
            quantity: m.topUp,
            currency: config.CURRENCY,
            interval: null,
            paidAt: seconds(m.topUpAt),
            periodEnd: seconds(m.topUpAt),
            metadata: { lineKind: "one_time" },
          },
        ]
      : []),
  ]);
  const ids = new Map(invoices.map((inv, i) => [inv.key, i]));
  const invoiceIds = await stripeEmulator.importPaidInvoices(invoices);
  const idOf = (m: (typeof months)[number], kind: string) => invoiceIds[ids.get(`demo-history:${group.id}:${m.monthsAgo}:${kind}`)!]!;
  const today = origin.toISOString().slice(0, 10);

  for (const m of months) {
    const name = `history:${group.name}:${m.monthsAgo}`;
    const done = await database.transaction(async (q) => {
      if (!(await recordStep(q, name))) return false; // done before (its transaction committed)
      await lockGroupBilling(q, group.id);
      const monthly = await grantMonthlyPeriod(q, {
        groupId: group.id,
        periodStart: m.start,
        periodEnd: m.end,
        packages: m.packages,
        credits: m.packages * perPackage,
        sourceKey: `stripe-invoice:${idOf(m, "monthly")}`,
        now: m.start,
      });
      let toppedUp = m.topUp === 0;
      const topUp = async () => {
        toppedUp = true;
        await grantCredits(q, { kind: "one_time", groupId: group.id, credits: m.topUp * perPackage, packages: m.topUp, sourceKey: `stripe-invoice:${idOf(m, "one_time")}`, now: m.topUpAt });
      };
      // Usage on every day of the month before today (today's is the live demo's), 2 h into each day of the period.
      const days: Date[] = [];
      for (let at = new Date(m.start.getTime() + 2 * 3_600_000); at < m.end && at.toISOString().slice(0, 10) < today; at = new Date(at.getTime() + DAY_MS)) days.push(at);
      const perDay = spread(m.usage, days.map((d, i) => (d.getUTCDay() % 6 === 0 ? 0.6 : 1) * (1 + 0.15 * Math.sin(i * 1.7))));
      for (const [i, at] of days.entries()) {
        if (!toppedUp && at > m.topUpAt) await topUp();
        const events: UsageEvent[] = spread(perDay[i]!, group.websiteIds.map((_, j) => 1 / (j + 1) ** 0.8))
          .map((credits, j) => ({ orgId: group.orgId, websiteId: group.websiteIds[j]!, credits, idempotencyKey: `demo-usage:${at.toISOString().slice(0, 10)}:${j}` }))
          .filter((e) => e.credits > 0);
        const outcomes = await debitUsageBatch(q, events, at);
        const refused = outcomes.find((o) => o.status !== 200);
        if (refused) throw new Error(`demo history usage on ${at.toISOString()} was refused: ${JSON.stringify(refused)}`);
      }
      if (!toppedUp) await topUp();
      // The month is over: what its credits did not cover expires at its end (no roll-over).
      if (monthly) await expireGrants(q, { grants: [monthly], now: m.end });
      return true;
    });
    if (done) onStep?.(name);
  }
}

/** `total` split in whole numbers by `weights` (the rounding remainder goes to the first). */
function spread(total: number, weights: number[]) {
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.floor((total * w) / sum));
  parts[0] = parts[0]! + total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

/** Today's usage: events of 100 credits, round-robin over the group's websites. */
async function spendToday(usage: ReturnType<typeof createUsageProcessor>, g: SeededGroup, credits: number, tag: string) {
  const events = [];
  const per = 100;
  for (let i = 0; i * per < credits; i++) {
    events.push({ orgId: g.orgId, websiteId: g.websiteIds[i % g.websiteIds.length]!, credits: Math.min(per, credits - i * per), idempotencyKey: `demo-usage:${tag}:${i}` });
  }
  for (const outcome of await usage.submitMany(events)) {
    if (outcome.status === "failed") throw outcome.error;
    if (outcome.status !== 200) throw new Error(`demo usage was refused: ${JSON.stringify(outcome)}`);
  }
}
