import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { findInvariantViolations } from "../src/server/modules/ledger/index.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool } from "../tests/support/factories.js";
import { cpuPer, fmt, hasCommand, loadAverage, measureCpu, ms, pgbench, rps, sleep, wrk, type CpuQuery, type WrkResult } from "./lib.js";
import { OPERATOR_KEY } from "../tests/support/process.js";
import { profileProcessor } from "./processor.js";
import type { BenchContext } from "./run.js";

const POOL = 1_000_000_000;
/**
 * Load before a hot run is counted. The API process needs ~15 s of this load to reach its steady
 * state on two busy cores: its CPU per request fell 77 → 64 → 56 → 57 → 52 µs over successive 6 s
 * rounds of one process (bench/ab-hot.ts, 2026-11-28), 135 → 104 → 87 → 72 µs for two. A 3 s
 * warm-up counted that tiering-up in the figure; the warm-up's own figure is printed beside it.
 */
const WARM_UP_S = 15;

export async function hotPoolFixture(ctx: BenchContext, websites = 50) {
  const f = await createOrgFixture(ctx.database.db, { websites });
  await fundGroupPool(ctx.database, f.groupA.id, { monthly: POOL, oneTime: POOL });
  const key = await createApiKeyFor(ctx.database, f.org.id);
  return { f, key, sites: f.websitesA.map((w) => w.id) };
}

/** 50 websites spending their own credits (no group pool), funded through the operator API of the process at `url`, and their organization's key. */
export async function spreadFixture(ctx: BenchContext, url: string, websites = 50) {
  const f = await createOrgFixture(ctx.database.db, { websites });
  for (const w of f.websitesA) {
    const g = await post(url, OPERATOR_KEY, `/api/v1/websites/${w.id}/grants`, { credits: POOL, idempotencyKey: `bench-grant-${w.id}` });
    if (g.status !== 201) throw new Error(`grant failed: ${g.status}`);
  }
  return { f, key: await createApiKeyFor(ctx.database, f.org.id), sites: f.websitesA.map((w) => w.id) };
}

/** What the database holds for an organization's usage: events, debits, transactions (one now() per transaction). */
async function usageStats(ctx: BenchContext, orgId: string, since: Date) {
  const { rows } = await ctx.database.query<{ events: number; credits: number; txs: number; first: Date | null; last: Date | null }>(
    `select count(*)::int as events, coalesce(sum(credits), 0)::bigint as credits, count(distinct created_at)::int as txs,
            min(created_at) as first, max(created_at) as last
       from usage_events where org_id = $1 and created_at >= $2`,
    [orgId, since],
  );
  return rows[0]!;
}

async function invariantLine(ctx: BenchContext, expect?: { orgId: string; groupId: string | null; credits: number }) {
  const v = await findInvariantViolations(ctx.database.query);
  let pool = "";
  if (expect?.groupId) {
    const { rows } = await ctx.database.query<{ spent: number }>(
      "select coalesce(sum(granted - remaining), 0)::bigint as spent from credit_grants where group_id = $1",
      [expect.groupId],
    );
    pool = `; pool spent ${fmt(rows[0]!.spent)} credits for ${fmt(expect.credits)} debited events ${rows[0]!.spent === expect.credits ? "(equal)" : "(MISMATCH)"}`;
  }
  const { rows: neg } = await ctx.database.query<{ n: number }>("select count(*)::int as n from credit_grants where remaining < 0");
  const ok = v.grants.length === 0 && v.events.length === 0 && neg[0]!.n === 0;
  return `invariant check: ${ok ? "OK" : "VIOLATED"} (${v.grants.length} grants off their ledger, ${v.events.length} events whose debits do not add up, ${neg[0]!.n} negative)${pool}`;
}

/** CPU per request of the API process(es) and the database's backends, and how busy each was over the run and the machine's two cores. */
const cpuLine = (m: { wall: number; postgres: number; machine: number }, api: number, requests: number) =>
  `CPU per request: API ${cpuPer(api, requests)}, PostgreSQL backends ${cpuPer(m.postgres, requests)} ` +
  `(over ${(m.wall / 1000).toFixed(1)} s: API ${((100 * api) / m.wall).toFixed(0)}% of a core, PostgreSQL ${((100 * m.postgres) / m.wall).toFixed(0)}%, the machine ${m.machine.toFixed(0)}% of its ${cpus().length} cores)`;

const httpLine = (label: string, r: WrkResult) =>
  `${label}: ${fmt(rps(r))} req/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, max ${ms(r.max)}; 200: ${fmt(r.s200)}, 402: ${fmt(r.s402)}, other: ${fmt(r.sother)}` +
  (r.errConnect + r.errRead + r.errWrite + r.errTimeout > 0 ? `, socket errors ${r.errConnect + r.errRead + r.errWrite + r.errTimeout}` : "");

async function wrkCeiling(ctx: BenchContext, url: string, connections: number, seconds: number) {
  return wrk({ url, script: "get.lua", args: ["/healthz"], connections, seconds });
}

/** The ceiling of "one row lock and one commit per debit": UPDATE ... SET v = v - 1 on one row, same client count. */
async function singleRowCeiling(ctx: BenchContext) {
  await ctx.database.query("create table if not exists bench_row (id int primary key, v bigint not null)");
  await ctx.database.query("insert into bench_row values (1, 1000000000000) on conflict (id) do update set v = excluded.v");
  if (hasCommand("pgbench")) {
    const dir = mkdtempSync(join(tmpdir(), "gb-bench-"));
    const file = join(dir, "debit.sql");
    writeFileSync(file, "UPDATE bench_row SET v = v - 1 WHERE id = 1;\n");
    try {
      const r = await pgbench({ url: ctx.url, clients: ctx.clients, seconds: ctx.seconds, scriptFile: file });
      return { tps: r.tps, detail: `pgbench -c ${ctx.clients} -j 2 -T ${ctx.seconds}: ${fmt(r.tps)} tps, average latency ${r.latencyMs.toFixed(1)} ms` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Fallback: node pg clients in a loop.
  const clients = await Promise.all(Array.from({ length: ctx.clients }, async () => {
    const c = new pg.Client({ connectionString: ctx.url });
    await c.connect();
    return c;
  }));
  let n = 0;
  const until = Date.now() + ctx.seconds * 1000;
  const t0 = Date.now();
  await Promise.all(clients.map(async (c) => {
    while (Date.now() < until) {
      await c.query("UPDATE bench_row SET v = v - 1 WHERE id = 1");
      n++;
    }
  }));
  const tps = n / ((Date.now() - t0) / 1000);
  await Promise.all(clients.map((c) => c.end()));
  return { tps, detail: `${ctx.clients} node pg clients, ${ctx.seconds} s: ${fmt(tps)} commits/s` };
}

export async function benchHotPool(ctx: BenchContext) {
  const [s1, s2] = ctx.servers as [BenchContext["servers"][0], BenchContext["servers"][0]];
  console.log(`== 1. Hot pool: 50 websites without credits of their own draw on one group pool, POST /api/v1/usage, ${ctx.clients} clients, ${ctx.seconds} s`);
  console.log(`   (load average before: ${loadAverage()})`);

  const ceiling = await singleRowCeiling(ctx);
  ctx.ceilingTps = ceiling.tps;
  console.log(`Ceiling of one row lock + one commit per debit (bare UPDATE bench_row SET v = v - 1 on one row): ${ceiling.detail}`);
  console.log(`  target for the hot pool (4x): ${fmt(ceiling.tps * 4)} events/s`);

  const alone = await profileProcessor({ url: ctx.url, seconds: Math.min(10, ctx.seconds), clients: ctx.clients });
  console.log(`Usage processor alone (in this process, no HTTP, ${ctx.clients} concurrent submitters, hot pool): ${alone.line}`);

  const hz = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () => wrkCeiling(ctx, s1.url, ctx.clients, Math.min(10, ctx.seconds)));
  const wrkMax = hz.result;
  console.log(
    `Load generator ceiling (wrk -t2 -c${ctx.clients} GET /healthz, same server): ${fmt(rps(wrkMax))} req/s, p50 ${ms(wrkMax.p50)}, p99 ${ms(wrkMax.p99)}; ` +
      `server CPU ${cpuPer(hz.processes[0]!, wrkMax.requests)} per request`,
  );

  // One API process.
  {
    const { f, key, sites } = await hotPoolFixture(ctx);
    // Warm-up, not counted, as for two processes below: the process has served no usage yet (V8
    // compiles the path in its first seconds, and the lane learns its websites: that showed in the p99).
    const warm = await wrk({ url: s1.url, script: "usage.lua", args: [key, `hot1-warm-${Date.now()}`, sites.join(",")], connections: ctx.clients, seconds: WARM_UP_S });
    console.log(`Warm-up of one API process (${WARM_UP_S} s, not counted): ${fmt(warm.s200 / (warm.durationUs / 1e6))} events/s, p99 ${ms(warm.p99)}`);
    await sleep(500); // the warm-up's last requests commit before the count starts
    const since = new Date();
    const m = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () =>
      wrk({ url: s1.url, script: "usage.lua", args: [key, `hot1-${Date.now()}`, sites.join(",")], connections: ctx.clients, seconds: ctx.seconds }),
    );
    const r = m.result;
    await sleep(2000); // requests in flight when wrk stops still commit
    const st = await usageStats(ctx, f.org.id, since);
    const all = await usageStats(ctx, f.org.id, new Date(0));
    console.log(httpLine("One API process (after the warm-up)", r));
    const eps = r.s200 / (r.durationUs / 1e6);
    console.log(`  = ${fmt(eps)} debited events/s, ${(eps / ceiling.tps).toFixed(1)}x the single-row ceiling of ${fmt(ceiling.tps)} tps (target 4x: ${eps >= 4 * ceiling.tps ? "MET" : "MISSED"}); p99 ${ms(r.p99)} (target <= 50 ms: ${r.p99 <= 50_000 ? "MET" : "MISSED"})`);
    console.log(`  ${cpuLine(m, m.processes[0]!, r.requests)}`);
    console.log(`  database: ${fmt(st.events)} events in ${fmt(st.txs)} transactions (average batch ${(st.events / Math.max(1, st.txs)).toFixed(1)} events, ${fmt(st.txs / (r.durationUs / 1e6))} commits/s); responses counted by wrk: ${fmt(r.s200)} (requests still in flight at the end are committed but not counted)`);
    console.log(`  ${await invariantLine(ctx, { orgId: f.org.id, groupId: f.groupA.id, credits: all.credits })}`);
  }

  // Two API processes on one database: one wrk per process, half the clients each.
  {
    const { f, key, sites } = await hotPoolFixture(ctx);
    await sleep(200);
    const half = Math.max(1, Math.floor(ctx.clients / 2));
    const tag = `hot2-${Date.now()}`;
    // Warm-up, not counted: the second process has served no usage yet (V8 has not optimized its
    // path, its lanes do not know these websites); without it, its first second shows in the p99.
    const warm = await Promise.all([s1, s2].map((s, i) => wrk({ url: s.url, script: "usage.lua", args: [key, `${tag}-warm${i}`, sites.join(",")], connections: half, threads: 1, seconds: WARM_UP_S })));
    console.log(`Warm-up of both processes (${WARM_UP_S} s, not counted): ${fmt(warm.reduce((n, w) => n + w.s200 / (w.durationUs / 1e6), 0))} events/s together`);
    await sleep(500); // the warm-up's last requests commit before the count starts
    const since = new Date();
    const m = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid, s2.child.pid], () =>
      Promise.all([
        wrk({ url: s1.url, script: "usage.lua", args: [key, `${tag}-a`, sites.join(",")], connections: half, threads: 1, seconds: ctx.seconds }),
        wrk({ url: s2.url, script: "usage.lua", args: [key, `${tag}-b`, sites.join(",")], connections: half, threads: 1, seconds: ctx.seconds }),
      ]),
    );
    const [a, b] = m.result;
    await sleep(2000); // requests in flight when wrk stops still commit
    const st = await usageStats(ctx, f.org.id, since);
    const all = await usageStats(ctx, f.org.id, new Date(0));
    const total = (a.s200 + b.s200) / (Math.max(a.durationUs, b.durationUs) / 1e6);
    console.log(`Two API processes, ${half} clients each (two wrk instances, after the warm-up of both):`);
    console.log(`  ${httpLine("process 1", a)}`);
    console.log(`  ${httpLine("process 2", b)}`);
    const p99 = Math.max(a.p99, b.p99);
    console.log(
      `  = ${fmt(total)} debited events/s together, ${(total / ceiling.tps).toFixed(1)}x the single-row ceiling of ${fmt(ceiling.tps)} tps (target 4x: ${total >= 4 * ceiling.tps ? "MET" : "MISSED"}); ` +
        `p99 ${ms(p99)}, the worse of the two (target <= 50 ms: ${p99 <= 50_000 ? "MET" : "MISSED"})`,
    );
    const api = m.processes[0]! + m.processes[1]!;
    console.log(`  ${cpuLine(m, api, a.requests + b.requests)}`);
    console.log(`  database: ${fmt(st.events)} events in ${fmt(st.txs)} transactions (average batch ${(st.events / Math.max(1, st.txs)).toFixed(1)})`);
    console.log(`  ${await invariantLine(ctx, { orgId: f.org.id, groupId: f.groupA.id, credits: all.credits })}`);
  }

  // Spread: 50 websites spending their own credits (no group pool).
  {
    const { f, key, sites } = await spreadFixture(ctx, s1.url);
    await sleep(200);
    const since = new Date(Date.now() - 1000);
    const m = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () =>
      wrk({ url: s1.url, script: "usage.lua", args: [key, `spread-${Date.now()}`, sites.join(",")], connections: ctx.clients, seconds: ctx.seconds }),
    );
    const r = m.result;
    await sleep(2000);
    const st = await usageStats(ctx, f.org.id, since);
    console.log(httpLine(`Spread (50 websites spending their own credits, one process, ${ctx.clients} clients)`, r));
    console.log(`  ${cpuLine(m, m.processes[0]!, r.requests)}`);
    console.log(`  database: ${fmt(st.events)} events in ${fmt(st.txs)} transactions (average batch ${(st.events / Math.max(1, st.txs)).toFixed(1)})`);
    console.log(`  ${await invariantLine(ctx)}`);
  }
  console.log("");
}

async function post(url: string, key: string, path: string, body: unknown) {
  const res = await fetch(url + path, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) };
}

export async function benchBatch(ctx: BenchContext) {
  const s1 = ctx.servers[0]!;
  const size = Number(process.env.BENCH_BATCH_SIZE ?? 1000);
  const connections = Number(process.env.BENCH_BATCH_CLIENTS ?? 4);
  console.log(`== 2. Batch ingestion: POST /api/v1/usage/batch, ${size} events per request, ${connections} clients, ${ctx.seconds} s, hot pool (50 websites, one group pool)`);
  const { f, key, sites } = await hotPoolFixture(ctx);

  // Correctness first: replays answer with the first result, and each event is all or nothing.
  const events = Array.from({ length: 1000 }, (_, i) => ({ websiteId: sites[i % sites.length]!, credits: 1, idempotencyKey: `check-${i}` }));
  const first = await post(s1.url, key, "/api/v1/usage/batch", { events });
  const again = await post(s1.url, key, "/api/v1/usage/batch", { events });
  const sameIds = first.json.results.every((r: any, i: number) => r.status === 200 && again.json.results[i].result.id === r.result.id);
  const small = await createOrgFixture(ctx.database.db, { websites: 1 });
  await fundGroupPool(ctx.database, small.groupA.id, { oneTime: 10 });
  const smallKey = await createApiKeyFor(ctx.database, small.org.id);
  const w = small.websitesA[0]!.id;
  const mixed = await post(s1.url, smallKey, "/api/v1/usage/batch", {
    events: [
      { websiteId: w, credits: 6, idempotencyKey: "a" },
      { websiteId: w, credits: 5, idempotencyKey: "b" },
      { websiteId: w, credits: 4, idempotencyKey: "c" },
      { websiteId: w, credits: 6, idempotencyKey: "a" },
    ],
  });
  const statuses = mixed.json.results.map((r: any) => r.status).join(",");
  const { rows: left } = await ctx.database.query<{ r: number }>("select sum(remaining)::int as r from credit_grants where group_id = $1", [small.groupA.id]);
  console.log(`Replay of a 1,000-event batch returns the first results: ${sameIds ? "yes" : "NO"}; mixed batch [6, 5, 4, 6 again] on 10 credits -> ${statuses} with ${left[0]!.r} left (expected 200,402,200,200 and 0)`);

  await sleep(200);
  const since = new Date(Date.now() - 1000);
  const before = await usageStats(ctx, f.org.id, since);
  const m = await measureCpu(ctx.database.query as CpuQuery, [s1.child.pid], () =>
    wrk({ url: s1.url, script: "batch.lua", args: [key, `batch-${Date.now()}`, sites.join(","), String(size)], connections, seconds: ctx.seconds, timeoutS: 30 }),
  );
  const r = m.result;
  await sleep(2000);
  const after = await usageStats(ctx, f.org.id, since);
  const debited = after.events - before.events;
  const secs = r.durationUs / 1e6;
  console.log(httpLine("Batch requests", r));
  const answered = r.s200 * size;
  console.log(`  = ${fmt(answered / secs)} debited events/s answered within ${secs.toFixed(1)} s (${fmt(answered)} events in 200 answers; ${fmt(debited)} in the database, including requests in flight at the end) -> target 20,000/s ${answered / secs >= 20000 ? "MET" : "MISSED"}${ctx.ceilingTps ? ` (${((answered / secs) / ctx.ceilingTps).toFixed(1)}x the single-row ceiling of ${fmt(ctx.ceilingTps)} tps)` : ""}`);
  console.log(`  CPU per event: API process ${cpuPer(m.processes[0]!, r.requests * size)}, PostgreSQL backends ${cpuPer(m.postgres, r.requests * size)} (API ${((100 * m.processes[0]!) / m.wall).toFixed(0)}% of a core, PostgreSQL ${((100 * m.postgres) / m.wall).toFixed(0)}%)`);
  console.log(`  database: ${fmt(after.txs - before.txs)} transactions (average ${((after.events - before.events) / Math.max(1, after.txs - before.txs)).toFixed(0)} events each)`);
  const all = await usageStats(ctx, f.org.id, new Date(0));
  console.log(`  ${await invariantLine(ctx, { orgId: f.org.id, groupId: f.groupA.id, credits: all.credits })}`);

  // The same batches spread over 50 websites spending their own credits: the processor's lanes commit in parallel.
  const spread = await spreadFixture(ctx, s1.url);
  const secs2 = Math.max(5, Math.round(ctx.seconds / 2));
  const r2 = await wrk({
    url: s1.url,
    script: "batch.lua",
    args: [spread.key, `bspread-${Date.now()}`, spread.sites.join(","), String(size)],
    connections,
    seconds: secs2,
    timeoutS: 30,
  });
  await sleep(2000);
  const answered2 = (r2.s200 * size) / (r2.durationUs / 1e6);
  console.log(`${httpLine(`Spread batches (50 websites spending their own credits, ${secs2} s)`, r2)}`);
  console.log(`  = ${fmt(answered2)} debited events/s -> target 20,000/s ${answered2 >= 20000 ? "MET" : "MISSED"}${ctx.ceilingTps ? ` (${(answered2 / ctx.ceilingTps).toFixed(1)}x the single-row ceiling of ${fmt(ctx.ceilingTps)} tps)` : ""}`);
  console.log(`  ${await invariantLine(ctx)}`);
  console.log("");
}
