import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoData } from "../../src/server/demo/seed-billing.js";
import { expectDemoStory, type DemoOutside } from "../support/demo-story.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { PARTNER_KEY, startTestServer, type TestServer } from "../support/server.js";

/** The Stripe and partner emulators' records, read over their APIs as the product reads them. */
function outsideOf(stripeUrl: string, partnerUrl: string, partnerKey: string): DemoOutside {
  return {
    stripeInvoices: async (customerId) =>
      ((await (await fetch(`${stripeUrl}/v1/invoices?customer=${customerId}&status=paid&limit=100`, { headers: { authorization: "Bearer sk_test_demo" } })).json()) as { data: Awaited<ReturnType<DemoOutside["stripeInvoices"]>> }).data,
    partnerCharges: async (accountId) =>
      ((await (await fetch(`${partnerUrl}/v1/charges?accountId=${encodeURIComponent(accountId ?? "")}`, { headers: { authorization: `Bearer ${partnerKey}` } })).json()) as { data: { description: string }[] }).data,
  };
}

// The demo `npm start` loads, as one consistent story (issue 10): every invoice has its grant and
// every grant its invoice, and the usage explains what is left.
describe("demo data", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await seedDemoData({ database: server.deps.database, billing: server.billing, stripeEmulator: server.stripe, clock: server.clock });
  }, 180_000);
  afterAll(async () => {
    await expectLedgerConsistent(server.deps.database);
    await server.close();
  });

  it("has a grant for every paid invoice and charge, and an invoice for every grant; what is left is granted less spent and expired", async () => {
    const figures = await expectDemoStory(server.deps.database, outsideOf(server.stripe.url, server.partner.url, PARTNER_KEY));
    console.log(JSON.stringify(figures));
    expect(figures["Online Stores"]).toMatchObject({ packages: { monthly: 5 * 15 + 20, one_time: 6 + 4 + 2 + 5 } });
  });

  it("spreads the history's usage over its days, dated by the clock the debits ran at", async () => {
    const { rows } = await server.deps.database.query<{ days: number; first: Date }>(
      `select count(distinct day)::int as days, min(day)::timestamptz as first from usage_daily u join groups g on g.id = u.group_id where g.name = 'Online Stores'`,
    );
    // Five months of days before today, plus today.
    expect(rows[0]!.days).toBeGreaterThan(140);
    expect(Date.now() - rows[0]!.first.getTime()).toBeGreaterThan(140 * 86_400_000);
    const { rows: entries } = await server.deps.database.query<{ n: number }>(
      `select count(*)::int as n from ledger_entries l join usage_events e on e.id = l.usage_event_id where l.created_at <> e.created_at`,
    );
    expect(entries[0]!.n).toBe(0);
  });
});
