/**
 * Same-run A/B of the hot pool (POST /api/v1/usage, 50 websites on one group pool, 32 clients):
 * the compiled API process of an earlier checkout beside this one's, alternating, on one fresh
 * database, with the load average, CPU per request and the ledger invariant at the end.
 *
 *   git archive <commit> | tar -x -C /tmp/before && ln -s $PWD/node_modules /tmp/before/ &&
 *   (cd /tmp/before && npx tsc -p tsconfig.build.json --noCheck && cp -r src/server/db/migrations dist/server/server/db/)
 *   npm run build   # this checkout's dist/server
 *   BEFORE_DIR=/tmp/before ROUNDS=3 S=8 npx tsx bench/ab-hot.ts
 *   BEFORE_DIR=/tmp/before BATCH=1000 CONNS=4 npx tsx bench/ab-hot.ts   # the batch endpoint
 *   BEFORE_DIR=/tmp/before PROCS=2 npx tsx bench/ab-hot.ts   # two API processes of each build
 *   BEFORE_DIR=$PWD AFTER_NODE_OPTIONS=--max-semi-space-size=64 npx tsx bench/ab-hot.ts   # one build, node options A/B
 *
 * The database is migrated by this checkout; the earlier build must work on its schema.
 */
import { loadavg } from "node:os";
import { startStripeEmulator } from "../src/emulators/stripe/index.js";
import { startPartnerEmulator } from "../src/emulators/partner/index.js";
import { cpuPer, measureCpu, wrk, type CpuQuery } from "./lib.js";
import { scratchDatabase, spawnCompiledApi } from "./scratch.js";
import { hotPoolFixture } from "./usage.js";

if (!process.env.BEFORE_DIR) throw new Error("BEFORE_DIR: the earlier checkout, built (see the header)");
const { name, url, database, drop } = await scratchDatabase("gb_ab");
// PG_LOG=1: every statement with its duration in PostgreSQL's log (as in prof-hot.ts).
if (process.env.PG_LOG) await database.query(`alter database ${name} set log_min_duration_statement = 0`);
const stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: "whsec_x" });
const partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: "pk" });
const children: import("node:child_process").ChildProcess[] = [];
const spawnAt = async (cwd: string, env: Record<string, string>) => {
  const s = await spawnCompiledApi(cwd, env);
  children.push(s.child);
  return { url: s.url, pid: s.pid };
};
/** Events per write: a batch's events share their `created_at`. */
const batchesSince = async (since: Date) => {
  const { rows } = await database.query<{ events: number; batches: number }>(
    "select count(*)::int as events, count(distinct created_at)::int as batches from usage_events where created_at >= $1",
    [since],
  );
  return `average batch ${(rows[0]!.events / Math.max(1, rows[0]!.batches)).toFixed(1)}`;
};
try {
  const env = { PARTNER_API_BASE: partner.url, PARTNER_API_KEY: "pk", DATABASE_URL: url, STRIPE_API_BASE: stripe.url, STRIPE_WEBHOOK_SECRET: "whsec_x" };
  // PROCS=2: two API processes of each build on the one database, half the connections each (section 1's second run).
  const procs = Number(process.env.PROCS ?? 1);
  const spawnMany = async (cwd: string, extra: Record<string, string> = {}) => {
    const list = [];
    for (let i = 0; i < procs; i++) list.push(await spawnAt(cwd, { ...env, ...extra }));
    return list;
  };
  // AFTER_NODE_OPTIONS: node options for this checkout's processes only (BEFORE_DIR=$PWD compares options alone).
  const afterOptions: Record<string, string> = process.env.AFTER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.AFTER_NODE_OPTIONS } : {};
  // AFTER_ENV=NAME=value,NAME=value: environment for this checkout's processes only (a setting A/B).
  for (const pair of (process.env.AFTER_ENV ?? "").split(",").filter(Boolean)) {
    const at = pair.indexOf("=");
    afterOptions[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const servers = { before: await spawnMany(process.env.BEFORE_DIR ?? ""), after: await spawnMany(process.cwd(), afterOptions) };
  console.log("spawned", servers);
  const secs = Number(process.env.S ?? 8);
  // BATCH=1000 CONNS=4: the batch endpoint (section 2) instead of single events.
  const batch = Number(process.env.BATCH ?? 0);
  const connections = Number(process.env.CONNS ?? 32);
  for (let round = 1; round <= Number(process.env.ROUNDS ?? 2); round++) {
    for (const which of ["before", "after"] as const) {
      const list = servers[which];
      const { key, sites } = await hotPoolFixture({ database } as never);
      const la = loadavg()[0]!.toFixed(2);
      const since = new Date();
      const m = await measureCpu(
        database.query as CpuQuery,
        list.map((s) => s.pid),
        () =>
          Promise.all(
            list.map((s, i) =>
              wrk({
                url: s.url,
                script: batch ? "batch.lua" : "usage.lua",
                args: [key, `ab-${which}-${round}-${i}-${Date.now()}`, sites.join(","), ...(batch ? [String(batch)] : [])],
                connections: Math.floor(connections / list.length),
                ...(list.length > 1 ? { threads: 1 } : {}),
                seconds: secs,
                timeoutS: 30,
              }),
            ),
          ),
      );
      const rs = m.result;
      const ok = rs.reduce((a, r) => a + r.s200, 0);
      const requests = rs.reduce((a, r) => a + r.requests, 0);
      const seconds = Math.max(...rs.map((r) => r.durationUs)) / 1e6;
      const api = m.processes.reduce((a, b) => a + b, 0);
      console.log(
        `round ${round} ${which.padEnd(6)} load ${la}: ${((ok * (batch || 1)) / seconds).toFixed(0)} events/s, ` +
          `p50 ${rs.map((r) => (r.p50 / 1000).toFixed(1)).join("/")} ms, p99 ${rs.map((r) => (r.p99 / 1000).toFixed(1)).join("/")} ms, ` +
          `non-200 ${rs.reduce((a, r) => a + r.sother + r.s402, 0)}; CPU per request API ${cpuPer(api, requests)}, PostgreSQL ${cpuPer(m.postgres, requests)}; ` +
          (await batchesSince(since)),
      );
    }
  }
  const { findInvariantViolations } = await import("../src/server/modules/ledger/index.js");
  const v = await findInvariantViolations(database.query);
  console.log(`invariant: ${v.grants.length + v.events.length === 0 ? "OK" : "VIOLATED"} (${v.grants.length} grants, ${v.events.length} events)`);
} finally {
  for (const ch of children) ch.kill();
  await stripe.close();
  await partner.close();
  await drop();
}
