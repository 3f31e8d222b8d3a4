import { systemClock } from "../clock.js";
import type { StripeEmulator } from "../../emulators/stripe/index.js";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import type { BillingService } from "../modules/billing/billing-service.js";
import { addMonths } from "../../domain/periods.js";
import { createUsageProcessor } from "../modules/credits/usage-processor.js";
import { seedDirectory } from "./seed.js";

/**
 * The whole demo: directory, billing enabled where api.md says, real purchases through the
 * emulators (so Stripe's and our records agree), and some usage so the bars mean something.
 */
export async function seedDemoData({ database, billing, stripeEmulator }: { database: Database; billing: BillingService; stripeEmulator: StripeEmulator | null; config: Config }) {
  const groups = await seedDirectory(database.db);
  const usage = createUsageProcessor({ database, clock: systemClock });
  for (const g of groups.filter((x) => x.billing)) {
    const ref = { id: g.id, orgId: g.orgId, name: g.name };
    await billing.enable(ref);
    const buy = async (type: "one_time" | "monthly", quantity: number) => {
      const { body: r } = await billing.purchase(ref, { type, quantity }, `demo:${g.id}:${type}`);
      if (r.status === "redirect" && stripeEmulator) {
        const sessionId = (await database.query<{ s: string }>("select stripe_checkout_session_id as s from purchases where id = $1", [r.purchaseId])).rows[0]!.s;
        await stripeEmulator.payCheckoutSession(sessionId);
        await waitFor(async () => (await billing.getPurchase(ref, r.purchaseId)).status === "completed");
      }
    };
    if (g.partnerManaged) {
      await buy("monthly", 10);
      await buy("one_time", 3);
      await spend(usage, g, 7_100, "monthly");
    } else if (stripeEmulator) {
      await importHistory(database, stripeEmulator, g.id);
      // One-time credits bought first and mostly spent, then a monthly plan a third used.
      await buy("one_time", 5);
      await spend(usage, g, 3_400, "one-time");
      await buy("monthly", 20);
      await spend(usage, g, 7_600, "monthly");
    }
  }
}

/** Five months of paid invoices before today, so the billing history has months to filter. */
async function importHistory(database: Database, stripe: StripeEmulator, groupId: string) {
  const { rows } = await database.query<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId]);
  const customerId = rows[0]!.c;
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  const history = [];
  for (let k = 5; k >= 1; k--) {
    const paidAt = addMonths(new Date(), -k);
    // `lineKind` tells our invoice wording what these imported lines are (ours carry a purchase id instead).
    history.push({ customerId, description: "15 × 1,000 group credits (monthly) (at $8.00 / month)", unitAmount: 800, quantity: 15, currency: "usd", paidAt: seconds(paidAt), periodEnd: seconds(addMonths(paidAt, 1)), metadata: { lineKind: "monthly" } });
    if (k % 2 === 1) {
      const topUp = new Date(paidAt.getTime() + 9 * 86400_000);
      history.push({ customerId, description: `${k + 1} × 1,000 group credits (one-time) (at $10.00)`, unitAmount: 1000, quantity: k + 1, currency: "usd", paidAt: seconds(topUp), periodEnd: seconds(topUp), metadata: { lineKind: "one_time" } });
    }
  }
  await stripe.importPaidInvoices(history);
}

async function spend(usage: ReturnType<typeof createUsageProcessor>, g: { orgId: string; websiteIds: string[] }, credits: number, tag: string) {
  const events = [];
  const per = 100;
  for (let i = 0; i * per < credits; i++) {
    events.push({ orgId: g.orgId, websiteId: g.websiteIds[i % g.websiteIds.length]!, credits: Math.min(per, credits - i * per), idempotencyKey: `demo-usage:${tag}:${i}` });
  }
  for (const outcome of await usage.submitMany(events)) if (outcome.status === "failed") throw outcome.error;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("demo purchase was not confirmed in time");
}
