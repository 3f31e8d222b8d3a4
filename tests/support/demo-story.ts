import { expect } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { findCreditBalances } from "../../src/server/modules/ledger/index.js";

/** What the outside services hold of the demo: the Stripe customer's paid invoices, the partner account's charges. */
export interface DemoOutside {
  stripeInvoices(customerId: string): Promise<{ description: string | null; lines: { data: { description: string | null; quantity: number | null }[] } }[]>;
  partnerCharges(accountId: string | null): Promise<{ description: string }[]>;
}

type Kind = "monthly" | "one_time";
const kindOf = (text: string): Kind => {
  if (/monthly|plan raised/i.test(text)) return "monthly";
  if (/one-time/i.test(text)) return "one_time";
  throw new Error(`an invoice line that is neither monthly nor one-time: ${text}`);
};

/**
 * The demo tells one story (issue 10): for every billing group, the packages on its paid invoices
 * (Stripe) or charges (partner) equal, per kind, the packages of its grants; every grant comes from a
 * payment; and what each kind has left is what was granted less what was spent and expired, which
 * is also what the balance query (the page's card) says. Returns the figures per group.
 */
export async function expectDemoStory(database: Database, outside: DemoOutside, perPackage = 1000) {
  const { rows: groups } = await database.query<{ id: string; name: string; customer_type: string; stripe_customer_id: string | null; partner_account_id: string | null }>(
    "select g.id, g.name, bp.customer_type, bp.stripe_customer_id, bp.partner_account_id from billing_profiles bp join groups g on g.id = bp.group_id order by g.name",
  );
  expect(groups.map((g) => g.name)).toEqual(["Agency Clients", "Online Stores"]);
  const figures: Record<string, unknown> = {};
  for (const g of groups) {
    const paid: Record<Kind, number> = { monthly: 0, one_time: 0 };
    if (g.customer_type === "standard") {
      for (const invoice of await outside.stripeInvoices(g.stripe_customer_id!)) {
        for (const line of invoice.lines.data) paid[kindOf(line.description ?? invoice.description ?? "")] += line.quantity ?? 0;
      }
    } else {
      for (const charge of await outside.partnerCharges(g.partner_account_id)) {
        // Partner charges read "… (N credits)" (domain/invoice-lines.ts): their packages are those credits.
        paid[kindOf(charge.description)] += Number(/\(([\d,]+) credits\)/.exec(charge.description)?.[1]?.replace(/,/g, "") ?? NaN) / perPackage;
      }
    }
    const { rows: grants } = await database.query<{ kind: Kind; packages: number; granted: number; from_payment: number; n: number }>(
      `select kind, sum(packages)::int as packages, sum(granted)::bigint as granted,
              count(*) filter (where purchase_id is not null or source_key like 'stripe-%')::int as from_payment, count(*)::int as n
         from credit_grants where group_id = $1 group by kind order by kind`,
      [g.id],
    );
    const granted: Record<Kind, number> = { monthly: 0, one_time: 0 };
    for (const r of grants) {
      granted[r.kind] = r.packages;
      expect(Number(r.granted)).toBe(r.packages * perPackage);
      expect(r.from_payment).toBe(r.n); // no grant without its payment
    }
    expect({ group: g.name, packages: granted }).toEqual({ group: g.name, packages: paid });

    // Per kind: remaining == granted - debits - expiries, from the ledger.
    const { rows: ledger } = await database.query<{ kind: Kind; granted: number; debited: number; expired: number; adjusted: number; remaining: number }>(
      `select g.kind,
              coalesce(sum(l.amount) filter (where l.kind = 'grant'), 0)::bigint as granted,
              coalesce(-sum(l.amount) filter (where l.kind = 'debit'), 0)::bigint as debited,
              coalesce(-sum(l.amount) filter (where l.kind = 'expiry'), 0)::bigint as expired,
              coalesce(sum(l.amount) filter (where l.kind = 'adjustment'), 0)::bigint as adjusted,
              (select sum(remaining) from credit_grants x where x.group_id = $1 and x.kind = g.kind)::bigint as remaining
         from credit_grants g join ledger_entries l on l.grant_id = g.id
        where g.group_id = $1 group by g.kind order by g.kind`,
      [g.id],
    );
    for (const r of ledger) {
      expect(Number(r.adjusted)).toBe(0);
      expect(Number(r.remaining)).toBe(Number(r.granted) - Number(r.debited) - Number(r.expired));
    }
    // The card: one-time "remaining of total" is every one-time package bought; monthly is the current period's grant.
    const card = await findCreditBalances(database.query, { websiteId: null, groupId: g.id, now: new Date() });
    const oneTime = ledger.find((r) => r.kind === "one_time");
    expect(card.oneTime?.granted ?? 0).toBe(paid.one_time * perPackage);
    expect(card.oneTime?.remaining ?? 0).toBe(oneTime ? Number(oneTime.remaining) : 0);
    const { rows: current } = await database.query<{ granted: number; remaining: number; debited: number }>(
      `select g.granted, g.remaining, coalesce(-(select sum(amount) from ledger_entries l where l.grant_id = g.id and l.kind = 'debit'), 0)::bigint as debited
         from credit_grants g where g.group_id = $1 and g.kind = 'monthly' and g.expired_at is null and g.expires_at > now()`,
      [g.id],
    );
    expect(current).toHaveLength(1);
    expect(card.monthly?.granted).toBe(Number(current[0]!.granted));
    expect(card.monthly?.remaining).toBe(Number(current[0]!.granted) - Number(current[0]!.debited));
    figures[g.name] = { packages: paid, oneTime: card.oneTime, monthly: card.monthly };
  }
  return figures;
}
