import { addMonths } from "../src/domain/periods.js";
import { createOrgFixture, TEST_PASSWORD } from "../tests/support/factories.js";
import { fmt, loadAverage, ms, rps, seededAnswerSql, seededRollupSql, timeOrderedIdSql, wrk, type SeededSources } from "./lib.js";
import type { BenchContext } from "./run.js";

export interface BillingPage {
  groupId: string;
  email: string;
  password: string;
  cookie: string;
}

const SUMMARY_SQL = `select kind, sum(granted)::bigint as total, sum(remaining)::bigint as remaining, coalesce(sum(packages), 0)::int as packages,
              min(period_start) as period_start, max(expires_at) as period_end
         from credit_grants
        where group_id = $1 and (kind = 'one_time' or (kind = 'monthly' and expires_at > now() and expired_at is null))
        group by kind`;

async function login(base: string, email: string, password: string) {
  const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** A seeded debit's source by its number `i`: its kept answer, its ledger entry's grant and its rollup column. */
const SOURCES: SeededSources = { own: "d.i % 4 = 0", monthly: "d.i % 4 in (2, 3)", oneTime: "d.i % 4 = 1" };

/**
 * A group of 1,000 websites with 36 months of history: monthly grants (35 expired, one current),
 * one-time grants, a grant per website, 1,000,000 debits (usage events, their ledger entries and
 * their usage_daily rollup, bulk-inserted with generate_series), and 36 months of paid invoices in
 * the Stripe emulator.
 */
async function seed(ctx: BenchContext): Promise<BillingPage & { ledgerRows: number; invoices: number; seedSeconds: number }> {
  const t0 = Date.now();
  const rowsWanted = Number(process.env.BENCH_LEDGER_ROWS ?? 1_000_000);
  const s1 = ctx.servers[0]!;
  const f = await createOrgFixture(ctx.database.db, { websites: 0 });
  const g = f.groupA.id;
  const q = ctx.database.query;
  await q(
    `insert into websites (org_id, group_id, name, url)
     select $1, $2, 'Bench site ' || i, 'https://bench-' || i || '.example' from generate_series(1, 1000) i`,
    [f.org.id, g],
  );
  const cookie = await login(s1.url, f.orgAdmin, TEST_PASSWORD);
  const enable = await fetch(`${s1.url}/api/groups/${g}/billing/enable`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}" });
  if (enable.status !== 200) throw new Error(`enable billing failed: ${enable.status} ${await enable.text()}`);

  await ctx.database.transaction(async (tx) => {
    // 36 monthly grants (the last is the current period), 12 one-time grants, one grant per website.
    await tx(
      `insert into credit_grants (kind, group_id, granted, remaining, expires_at, period_start, packages, source_key, created_at)
       select 'monthly', $1, 60000, 60000, date_trunc('month', now()) + (k + 1) * interval '1 month', date_trunc('month', now()) + k * interval '1 month', 60,
              'bench:m:' || k, date_trunc('month', now()) + k * interval '1 month'
         from generate_series(-35, 0) k`,
      [g],
    );
    await tx(
      `insert into credit_grants (kind, group_id, granted, remaining, source_key, created_at)
       select 'one_time', $1, 50000, 50000, 'bench:o:' || k, date_trunc('month', now()) + (k * 3 - 34) * interval '1 month' + interval '9 days'
         from generate_series(0, 11) k`,
      [g],
    );
    await tx(
      `insert into credit_grants (kind, website_id, granted, remaining, source_key, created_at)
       select 'website', id, 500, 500, 'bench:w:' || id, now() - interval '3 years' from websites where group_id = $1`,
      [g],
    );
    await tx(`insert into ledger_entries (grant_id, kind, amount, created_at)
              select id, 'grant', granted, created_at from credit_grants where group_id = $1 or website_id in (select id from websites where group_id = $1)`, [g]);
    // Index maps for spreading the debits.
    await tx(`create temp table bw on commit drop as
              select (row_number() over (order by w.id) - 1)::int as idx, w.id as website_id, cg.id as grant_id
                from websites w join credit_grants cg on cg.website_id = w.id where w.group_id = $1`, [g]);
    await tx(`create temp table bm on commit drop as
              select (row_number() over (order by period_start) - 1)::int as idx, id, period_start from credit_grants where group_id = $1 and kind = 'monthly'`, [g]);
    await tx(`create temp table bo on commit drop as
              select (row_number() over (order by created_at) - 1)::int as idx, id from credit_grants where group_id = $1 and kind = 'one_time'`, [g]);
    // Every 4th debit from a website's own grant, one in 4 from a one-time grant, half from the monthly grants.
    await tx(
      `create temp table bs on commit drop as
       select t.*, ${timeOrderedIdSql("t.at")} as id from (
       select s.*, coalesce(least(m.period_start + ((s.i * 7) % 27) * interval '1 day', now()), now() - ((s.i * 37) % 1080) * interval '1 day') as at
         from (select i,
                      case when i % 4 = 0 then (i / 4) % 1000 else i % 1000 end as widx,
                      case when i % 4 = 1 then (i / 4) % 12 end as oidx,
                      case when i % 4 in (2, 3) then (i / 4) % 36 end as midx
                 from generate_series(0, $1::int - 1) i) s
         left join bm m on m.idx = s.midx) t`,
      [rowsWanted],
    );
    await tx(
      `insert into usage_events (id, org_id, website_id, idempotency_key, credits, answer, created_at)
       select d.id, $1, w.website_id, 'seed-' || d.i, 1, ${seededAnswerSql(SOURCES)}, d.at
         from bs d join bw w on w.idx = d.widx order by d.at`,
      [f.org.id],
    );
    await tx(
      `insert into ledger_entries (grant_id, kind, amount, usage_event_id, created_at)
       select case when ${SOURCES.own} then w.grant_id when ${SOURCES.oneTime} then o.id else m.id end, 'debit', -1, d.id, d.at
         from bs d join bw w on w.idx = d.widx left join bo o on o.idx = d.oidx left join bm m on m.idx = d.midx order by d.at`,
    );
    // The usage_daily rows of those debits, as the debit statement adds them up (ledger/debit-usage.ts):
    // without them the page's usage section showed its empty state, and the LCP measured a page
    // without the usage chart and the websites list.
    await tx(seededRollupSql("bs", "bw", SOURCES), [g]);
    await tx(
      `update credit_grants g set remaining = g.granted + d.total
         from (select grant_id, sum(amount) as total from ledger_entries where kind = 'debit' and grant_id in
                 (select id from credit_grants where group_id = $1 union all select grant_id from bw) group by grant_id) d
        where g.id = d.grant_id`,
      [g],
    );
    // Past monthly grants expired at their period end.
    await tx(`insert into ledger_entries (grant_id, kind, amount, created_at)
              select id, 'expiry', -remaining, expires_at from credit_grants where group_id = $1 and kind = 'monthly' and expires_at <= now() and remaining > 0`, [g]);
    await tx(`update credit_grants set remaining = 0, expired_at = expires_at where group_id = $1 and kind = 'monthly' and expires_at <= now()`, [g]);
  });
  // Vacuumed as autovacuum would have done with rows this old (this server runs with autovacuum off): the
  // first read of never-vacuumed rows sets their hint bits, writing every page once, a cost no live export pays.
  await q("vacuum analyze");

  // 36 months of paid invoices in the Stripe emulator, through its own import (no events sent).
  const { rows: prof } = await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [g]);
  const customerId = prof[0]!.c;
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  const history = [];
  for (let k = 36; k >= 1; k--) {
    const paidAt = addMonths(new Date(), -k);
    history.push({ customerId, description: "60 × 1,000 group credits (monthly)", unitAmount: 800, quantity: 60, currency: "usd", paidAt: seconds(paidAt), periodEnd: seconds(addMonths(paidAt, 1)) });
    if (k % 3 === 0) {
      const topUp = new Date(paidAt.getTime() + 9 * 86400_000);
      history.push({ customerId, description: "1,000 group credits (one-time)", unitAmount: 1000, quantity: 50, currency: "usd", paidAt: seconds(topUp), periodEnd: seconds(topUp) });
    }
  }
  await ctx.stripe.importPaidInvoices(history);
  const { rows: n } = await q<{ n: number }>("select count(*)::int as n from ledger_entries");
  return { groupId: g, email: f.orgAdmin, password: TEST_PASSWORD, cookie, ledgerRows: n[0]!.n, invoices: history.length, seedSeconds: (Date.now() - t0) / 1000 };
}

export async function benchBilling(ctx: BenchContext, { measure }: { measure: boolean }): Promise<BillingPage> {
  const s1 = ctx.servers[0]!;
  console.log("== 3. Billing page API: a group of 1,000 websites, 36 months of invoices, 1,000,000 ledger entries");
  const page = await seed(ctx);
  console.log(`Seeded in ${page.seedSeconds.toFixed(1)} s (generate_series bulk SQL): ${fmt(page.ledgerRows)} ledger entries in the database, ${page.invoices} paid invoices over 36 months in the Stripe emulator`);
  const { rows: rollup } = await ctx.database.query<{ credits: string; month: string; websites: number }>(
    `select sum(website + group_monthly + group_one_time)::bigint as credits,
            coalesce(sum(website + group_monthly + group_one_time) filter (where day >= date_trunc('month', now() at time zone 'UTC')), 0)::bigint as month,
            count(distinct website_id) filter (where day >= date_trunc('month', now() at time zone 'UTC'))::int as websites
       from usage_daily where group_id = $1`,
    [page.groupId],
  );
  const r = rollup[0]!;
  console.log(`Rollup: ${fmt(Number(r.credits))} credits over 36 months (${fmt(Number(r.month))} this month, by ${fmt(r.websites)} websites: the page's usage chart and websites list)`);
  if (!measure) return page;
  const secs = Math.max(5, Math.round(ctx.seconds / 2));

  const check = await fetch(`${s1.url}/api/groups/${page.groupId}/billing/invoices`, { headers: { cookie: page.cookie } });
  const inv = (await check.json()) as { months: string[]; invoices: unknown[] };
  console.log(`GET .../invoices answers ${check.status} with ${inv.invoices.length} invoices over ${inv.months.length} months`);
  const month = inv.months[Math.floor(inv.months.length / 2)] ?? "2024-01";

  const wrkMax = await wrk({ url: s1.url, script: "get.lua", args: ["/healthz"], connections: 1, threads: 1, seconds: Math.min(5, secs) });
  console.log(`Load generator ceiling (wrk -c1 GET /healthz): ${fmt(rps(wrkMax))} req/s, p50 ${ms(wrkMax.p50)}, p90 ${ms(wrkMax.p90)}`);
  console.log(`(wrk reports p50/p90/p99; p95 is not among wrk's printed percentiles, so p95 is taken from a sequential fetch loop of the same requests below)`);
  for (const [label, path] of [
    ["GET /api/groups/{id}/billing", `/api/groups/${page.groupId}/billing`],
    ["GET /api/groups/{id}/billing/invoices", `/api/groups/${page.groupId}/billing/invoices`],
    [`GET /api/groups/{id}/billing/invoices?month=${month}`, `/api/groups/${page.groupId}/billing/invoices?month=${month}`],
  ] as const) {
    const seq = await sequentialLatency(`${s1.url}${path}`, page.cookie, 400);
    const loaded = await wrk({ url: s1.url, script: "get.lua", args: [path, page.cookie], connections: 8, seconds: secs });
    console.log(`${label}:`);
    console.log(`  one client (sequential, ${seq.n} requests): p50 ${seq.p50.toFixed(1)} ms, p95 ${seq.p95.toFixed(1)} ms, p99 ${seq.p99.toFixed(1)} ms -> target p95 <= 25 ms ${seq.p95 <= 25 ? "MET" : "MISSED"}`);
    console.log(`  8 clients (wrk, ${secs} s): ${fmt(rps(loaded))} req/s, p50 ${ms(loaded.p50)}, p90 ${ms(loaded.p90)}, p99 ${ms(loaded.p99)}; non-200: ${loaded.sother}`);
  }

  const { rows } = await ctx.database.query<{ "QUERY PLAN": string }>(`explain (analyze, buffers) ${SUMMARY_SQL}`, [page.groupId]);
  console.log("EXPLAIN (ANALYZE, BUFFERS) of the summary query (getSummary):");
  for (const r of rows) console.log(`  ${r["QUERY PLAN"]}`);
  const other = await ctx.database.query<{ "QUERY PLAN": string }>(
    `explain (analyze) select g.* from groups g where g.id = $1`,
    [page.groupId],
  );
  console.log("EXPLAIN ANALYZE of the group lookup (requireGroupAdmin):");
  for (const r of other.rows) console.log(`  ${r["QUERY PLAN"]}`);
  console.log(`(load average: ${loadAverage()})\n`);
  return page;
}

export async function sequentialLatency(url: string, cookie: string, n: number) {
  for (let i = 0; i < 20; i++) await (await fetch(url, { headers: { cookie } })).arrayBuffer(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
  return { n, p50: at(50), p95: at(95), p99: at(99) };
}
