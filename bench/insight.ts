import { readFileSync } from "node:fs";
import { get } from "node:http";
import { spawnServer } from "../tests/support/process.js";
import { createOrgFixture, TEST_PASSWORD } from "../tests/support/factories.js";
import { sequentialLatency } from "./billing.js";
import { cpuPer, fmt, loadAverage, measureCpu, ms, rps, seededAnswerSql, seededRollupSql, sleep, timeOrderedIdSql, wrk, type CpuQuery, type SeededSources, type WrkResult } from "./lib.js";
import { profileProcessor } from "./processor.js";
import type { BenchContext } from "./run.js";
import { hotPoolFixture } from "./usage.js";

const TRIGGER = "bench_old_usage_daily_trigger";

/**
 * The rollup trigger of migration 0004 (dropped by 0008), installed again for the comparison: it
 * writes into a scratch copy of usage_daily, so the in-statement rollup stays the only one counted.
 */
async function setOldRollupTrigger(ctx: BenchContext, on: boolean) {
  const q = ctx.database.query;
  await q(`drop trigger if exists ${TRIGGER} on ledger_entries`);
  if (!on) return;
  await q("create table if not exists bench_usage_daily (like usage_daily including all)");
  await q(`create or replace function bench_old_usage_daily() returns trigger language plpgsql as $$
    begin
      insert into bench_usage_daily as u (group_id, day, website_id, website, group_monthly, group_one_time)
      select coalesce(g.group_id, w.group_id), (n.created_at at time zone 'UTC')::date, coalesce(g.website_id, e.website_id),
             coalesce(sum(-n.amount) filter (where g.kind = 'website'), 0),
             coalesce(sum(-n.amount) filter (where g.kind = 'monthly'), 0),
             coalesce(sum(-n.amount) filter (where g.kind = 'one_time'), 0)
        from new_entries n
        join credit_grants g on g.id = n.grant_id
        left join usage_events e on e.id = n.usage_event_id
        left join websites w on w.id = g.website_id
       where n.kind = 'debit' and coalesce(g.group_id, w.group_id) is not null and coalesce(g.website_id, e.website_id) is not null
       group by 1, 2, 3 order by 1, 2, 3
      on conflict (group_id, day, website_id) do update
         set website = u.website + excluded.website, group_monthly = u.group_monthly + excluded.group_monthly,
             group_one_time = u.group_one_time + excluded.group_one_time;
      return null;
    end $$`);
  await q(`create trigger ${TRIGGER} after insert on ledger_entries referencing new table as new_entries for each statement execute function bench_old_usage_daily()`);
}

const line = (r: WrkResult, eventsPerRequest = 1) =>
  `${fmt((r.s200 * eventsPerRequest) / (r.durationUs / 1e6))} debited events/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}; non-200: ${fmt(r.sother + r.s402)}`;

/**
 * What the rollup's move into the debit statement (0008) saved on the hot path: the same runs with
 * the rollup written by the debit statement only ("new"), and with 0004's per-entry trigger added
 * on top of it ("+ old trigger"), alternating, twice each, on fresh pools.
 */
export async function benchRollupCost(ctx: BenchContext) {
  const s1 = ctx.servers[0]!;
  const secs = Math.max(5, Math.round(ctx.seconds / 2));
  console.log(`== 5. Cost of the usage rollup on the hot path: the debit statement's own upsert (new) vs. that plus 0004's trigger (old, into a scratch table), twice each (${secs} s per run)`);
  console.log(`   (load average before: ${loadAverage()})`);
  const results: Record<string, { off: number[]; on: number[]; p99: { off: number[]; on: number[] } }> = {};
  const record = (name: string, on: boolean, eps: number, p99: number) => {
    const r = (results[name] ??= { off: [], on: [], p99: { off: [], on: [] } });
    r[on ? "on" : "off"].push(eps);
    r.p99[on ? "on" : "off"].push(p99);
  };
  try {
    for (const round of [1, 2]) {
      for (const on of [false, true]) {
        await setOldRollupTrigger(ctx, on);
        const label = `round ${round}, ${on ? "+ old trigger" : "new only    "}`;

        const alone = await profileProcessor({ url: ctx.url, seconds: secs, clients: ctx.clients });
        record("processor alone (no HTTP, hot pool)", on, alone.eventsPerSecond, alone.txP99);
        console.log(`  ${label} | processor alone, ${ctx.clients} submitters: ${alone.line}`);

        const hot = await hotPoolFixture(ctx);
        const m = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () =>
          wrk({ url: s1.url, script: "usage.lua", args: [hot.key, `rollup-hot-${round}-${on}-${Date.now()}`, hot.sites.join(",")], connections: ctx.clients, seconds: secs }),
        );
        record("hot pool, POST /api/v1/usage, one API process", on, m.result.s200 / (m.result.durationUs / 1e6), m.result.p99 / 1000);
        console.log(`  ${label} | hot pool over HTTP, ${ctx.clients} clients: ${line(m.result)}; PostgreSQL CPU ${cpuPer(m.postgres, m.result.requests)} per request`);

        const batch = await hotPoolFixture(ctx);
        const b = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () =>
          wrk({ url: s1.url, script: "batch.lua", args: [batch.key, `rollup-batch-${round}-${on}-${Date.now()}`, batch.sites.join(","), "1000"], connections: 4, seconds: secs, timeoutS: 30 }),
        );
        record("batch, POST /api/v1/usage/batch x 1,000 events, 4 clients", on, (b.result.s200 * 1000) / (b.result.durationUs / 1e6), b.result.p99 / 1000);
        console.log(`  ${label} | batch over HTTP, 4 clients x 1,000 events: ${line(b.result, 1000)}; PostgreSQL CPU ${cpuPer(b.postgres, b.result.requests * 1000)} per event`);
        await sleep(1000);
      }
    }
  } finally {
    await setOldRollupTrigger(ctx, false);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  console.log("Summary (mean of the two rounds):");
  for (const [name, r] of Object.entries(results)) {
    const off = mean(r.off);
    const on = mean(r.on);
    console.log(
      `  ${name}: ${fmt(off)} events/s with the in-statement rollup, ${fmt(on)} with 0004's trigger added (${on >= off ? "+" : ""}${(((on - off) / off) * 100).toFixed(1)} %); p99 ${mean(r.p99.off).toFixed(1)} -> ${mean(r.p99.on).toFixed(1)} ms`,
    );
  }
  console.log("");
}

interface UsageGroup {
  groupId: string;
  cookie: string;
  debits: number;
  entries: number;
}

async function login(base: string, email: string) {
  const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: TEST_PASSWORD }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** A seeded debit's source by its number `i`: its kept answer, its ledger entry's grant and its rollup column. */
const USAGE_SOURCES: SeededSources = { own: "d.i % 4 = 0", monthly: "d.i % 4 in (1, 2)", oneTime: "d.i % 4 = 3" };

/**
 * A group of 1,000 websites with `debits` debits in the current UTC month, spread over its days
 * so far (own, monthly and one-time), bulk-inserted in one statement per table, and their
 * usage_daily rows aggregated from those entries (what the debit statement adds up as it debits).
 */
async function seedUsageGroup(ctx: BenchContext, debits: number): Promise<UsageGroup & { seconds: number }> {
  const t0 = Date.now();
  const f = await createOrgFixture(ctx.database.db, { websites: 0 });
  const g = f.groupA.id;
  const q = ctx.database.query;
  await q(
    `insert into websites (org_id, group_id, name, url)
     select $1, $2, 'Usage site ' || i, 'https://usage-' || i || '.example' from generate_series(1, 1000) i`,
    [f.org.id, g],
  );
  const cookie = await login(ctx.servers[0]!.url, f.orgAdmin);
  const enable = await fetch(`${ctx.servers[0]!.url}/api/groups/${g}/billing/enable`, { method: "POST", headers: { cookie, "content-type": "application/json" }, body: "{}" });
  if (enable.status !== 200) throw new Error(`enable billing failed: ${enable.status}`);
  await ctx.database.transaction(async (tx) => {
    await tx(
      `insert into credit_grants (kind, group_id, granted, remaining, expires_at, period_start, packages, source_key)
       values ('monthly', $1, 2000000000, 2000000000, date_trunc('month', now()) + interval '1 month', date_trunc('month', now()), 1, $2),
              ('one_time', $1, 2000000000, 2000000000, null, null, null, $3)`,
      [g, `bench-usage:m:${g}`, `bench-usage:o:${g}`],
    );
    await tx(`insert into credit_grants (kind, website_id, granted, remaining, source_key)
              select 'website', id, 2000000000, 2000000000, 'bench-usage:w:' || id from websites where group_id = $1`, [g]);
    await tx(`insert into ledger_entries (grant_id, kind, amount)
              select id, 'grant', granted from credit_grants where group_id = $1 or website_id in (select id from websites where group_id = $1)`, [g]);
    await tx(`create temp table uw on commit drop as
              select (row_number() over (order by w.id) - 1)::int as idx, w.id as website_id, cg.id as grant_id
                from websites w join credit_grants cg on cg.website_id = w.id where w.group_id = $1`, [g]);
    // Debit i: website i % 1000, on day i % (days so far) of the month (written in time order, as the ledger grows), from the website's own grant (1 in 4), monthly (2 in 4) or one-time.
    await tx(
      `create temp table ue on commit drop as
       select i, ${timeOrderedIdSql("at")} as id, widx, at
         from (select i, i % 1000 as widx,
                      least(date_trunc('month', now()) + (i % extract(day from now())::int) * interval '1 day' + (i % 86400) * interval '1 second', now()) as at
                 from generate_series(0, $1::int - 1) i) s`,
      [debits],
    );
    await tx(
      `insert into usage_events (id, org_id, website_id, idempotency_key, credits, answer, created_at)
       select d.id, $1, w.website_id, 'bench-usage-' || d.i, 1, ${seededAnswerSql(USAGE_SOURCES)}, d.at
         from ue d join uw w on w.idx = d.widx order by d.at`,
      [f.org.id],
    );
    await tx(
      `insert into ledger_entries (grant_id, kind, amount, usage_event_id, created_at)
       select case when ${USAGE_SOURCES.own} then w.grant_id when ${USAGE_SOURCES.oneTime} then (select id from credit_grants where group_id = $1 and kind = 'one_time')
                   else (select id from credit_grants where group_id = $1 and kind = 'monthly') end,
              'debit', -1, d.id, d.at
         from ue d join uw w on w.idx = d.widx order by d.at`,
      [g],
    );
    await tx(seededRollupSql("ue", "uw", USAGE_SOURCES), [g]);
    await tx(
      `update credit_grants g set remaining = g.granted + d.total
         from (select grant_id, sum(amount) as total from ledger_entries where kind = 'debit' and grant_id in
                 (select id from credit_grants where group_id = $1 union all select grant_id from uw) group by grant_id) d
        where g.id = d.grant_id`,
      [g],
    );
  });
  // Vacuumed as autovacuum would have done with rows this old (this server runs with autovacuum off): the
  // first read of never-vacuumed rows sets their hint bits, writing every page once, a cost no live export pays.
  await q("vacuum analyze");
  const { rows } = await q<{ n: number }>(
    `select count(*)::int as n from ledger_entries where grant_id in (select id from credit_grants where group_id = $1 or website_id in (select id from websites where group_id = $1))`,
    [g],
  );
  return { groupId: g, cookie, debits, entries: rows[0]!.n, seconds: (Date.now() - t0) / 1000 };
}

/** GET .../billing/usage on a group of 1,000 websites with 1,000,000 debits in the month: p95, and the rollup against the ledger. */
export async function benchUsageEndpoint(ctx: BenchContext): Promise<UsageGroup> {
  const s1 = ctx.servers[0]!;
  const debits = Number(process.env.BENCH_USAGE_DEBITS ?? 1_000_000);
  console.log(`== 6. Usage endpoint: a group of 1,000 websites with ${fmt(debits)} debits in the current month`);
  const group = await seedUsageGroup(ctx, debits);
  console.log(`Seeded in ${group.seconds.toFixed(1)} s (generate_series, with the rollup rows of those debits): ${fmt(group.entries)} ledger entries of the group`);
  const { rows: check } = await ctx.database.query<{ rollup: number; days: number; rows: number }>(
    `select coalesce(sum(website + group_monthly + group_one_time), 0)::bigint as rollup, count(distinct day)::int as days, count(*)::int as rows
       from usage_daily where group_id = $1`,
    [group.groupId],
  );
  console.log(`Rollup: ${fmt(check[0]!.rows)} rows over ${check[0]!.days} days holding ${fmt(check[0]!.rollup)} credits (${check[0]!.rollup === debits ? "equal to" : "DIFFERENT FROM"} the ${fmt(debits)} debited)`);
  const path = `/api/groups/${group.groupId}/billing/usage`;
  const first = await fetch(`${s1.url}${path}`, { headers: { cookie: group.cookie } });
  const body = (await first.json()) as { days: unknown[]; websites: unknown[] };
  console.log(`GET ${path.replace(group.groupId, "{id}")} answers ${first.status}: ${body.days.length} days, ${body.websites.length} websites`);
  const seq = await sequentialLatency(`${s1.url}${path}`, group.cookie, 400);
  console.log(`  one client (sequential, ${seq.n} requests): p50 ${seq.p50.toFixed(1)} ms, p95 ${seq.p95.toFixed(1)} ms, p99 ${seq.p99.toFixed(1)} ms -> target p95 <= 50 ms ${seq.p95 <= 50 ? "MET" : "MISSED"}`);
  const secs = Math.max(5, Math.round(ctx.seconds / 2));
  const loaded = await wrk({ url: s1.url, script: "get.lua", args: [path, group.cookie], connections: 8, seconds: secs });
  console.log(`  8 clients (wrk, ${secs} s): ${fmt(rps(loaded))} req/s, p50 ${ms(loaded.p50)}, p90 ${ms(loaded.p90)}, p99 ${ms(loaded.p99)}; non-200: ${loaded.sother}`);
  console.log(`(load average: ${loadAverage()})\n`);
  return group;
}

function rssKb(pid: number, field: "VmRSS" | "VmHWM") {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
}

/** The ledger export of that group from a fresh API process: rows, time, peak RSS of the process. */
export async function benchCsvExport(ctx: BenchContext, group: UsageGroup) {
  console.log(`== 7. Ledger export: GET .../billing/ledger.csv of that group (${fmt(group.entries)} entries) from a fresh API process`);
  const env = { DATABASE_URL: ctx.url, STRIPE_API_BASE: ctx.stripe.url, DATA_DIR: "/tmp/gb-bench-unused" };
  const server = await spawnServer(env, { compiled: true });
  try {
    const pid = server.child.pid!;
    // Warm the process (first requests compile code paths) before taking its resting RSS.
    await (await fetch(`${server.url}/api/groups/${group.groupId}/billing/usage`, { headers: { cookie: group.cookie } })).arrayBuffer();
    const restingKb = rssKb(pid, "VmRSS");
    let peakKb = restingKb;
    const sampler = setInterval(() => {
      try {
        peakKb = Math.max(peakKb, rssKb(pid, "VmRSS"));
      } catch {
        /* the process is gone */
      }
    }, 20);
    // Read with node:http (fetch's web streams cost this client 3 s of the two cores over 157 MB, taken from the server's share).
    const cpu = await measureCpu(ctx.database.query as CpuQuery, [pid, process.pid], () =>
      new Promise<{ status: number; bytes: number; lines: number }>((resolve, reject) => {
        const req = get(`${server.url}/api/groups/${group.groupId}/billing/ledger.csv`, { headers: { cookie: group.cookie } }, (res) => {
          let bytes = 0;
          let lines = 0;
          res.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
            for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, lines }));
          res.on("error", reject);
        });
        req.on("error", reject);
      }),
    );
    const { status, bytes, lines } = cpu.result;
    const seconds = cpu.wall / 1000;
    clearInterval(sampler);
    const hwmKb = rssKb(pid, "VmHWM");
    const peakMb = Math.max(peakKb, hwmKb) / 1024;
    console.log(`  status ${status}, ${fmt(lines - 1)} rows + header (${lines - 1 === group.entries ? "all" : "NOT all"} of the ${fmt(group.entries)} entries), ${fmt(bytes / 2 ** 20, 1)} MB in ${seconds.toFixed(2)} s (${fmt((lines - 1) / seconds)} rows/s) -> target < 10 s ${seconds < 10 ? "MET" : "MISSED"}`);
    const [apiMs = 0, clientMs = 0] = cpu.processes;
    console.log(`  CPU: API process ${(apiMs / 1000).toFixed(2)} s, PostgreSQL ${(cpu.postgres / 1000).toFixed(2)} s, this client (node:http, line count) ${(clientMs / 1000).toFixed(2)} s; ${fmt(seconds * 2, 1)} s of the 2 cores' time`);
    console.log(`  API process RSS: ${fmt(restingKb / 1024, 1)} MB before, peak ${fmt(peakMb, 1)} MB (VmHWM, and VmRSS sampled every 20 ms) -> target < 150 MB ${peakMb < 150 ? "MET" : "MISSED"}`);
  } finally {
    await server.kill();
  }
  console.log(`(load average: ${loadAverage()})\n`);
}
