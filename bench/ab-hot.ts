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
const { url, database, drop } = await scratchDatabase("gb_ab");
const stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: "whsec_x" });
const partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: "pk" });
const children: import("node:child_process").ChildProcess[] = [];
const spawnAt = async (cwd: string, env: Record<string, string>) => {
  const s = await spawnCompiledApi(cwd, env);
  children.push(s.child);
  return { url: s.url, pid: s.pid };
};
try {
  const env = { PARTNER_API_BASE: partner.url, PARTNER_API_KEY: "pk", DATABASE_URL: url, STRIPE_API_BASE: stripe.url, STRIPE_WEBHOOK_SECRET: "whsec_x" };
  const servers = { before: await spawnAt(process.env.BEFORE_DIR ?? "", env), after: await spawnAt(process.cwd(), env) };
  console.log("spawned", servers);
  const secs = Number(process.env.S ?? 8);
  // BATCH=1000 CONNS=4: the batch endpoint (section 2) instead of single events.
  const batch = Number(process.env.BATCH ?? 0);
  const connections = Number(process.env.CONNS ?? 32);
  for (let round = 1; round <= Number(process.env.ROUNDS ?? 2); round++) {
    for (const which of ["before", "after"] as const) {
      const s = servers[which];
      const { key, sites } = await hotPoolFixture({ database } as never);
      const la = loadavg()[0]!.toFixed(2);
      const m = await measureCpu(database.query as CpuQuery, [s.pid], () =>
        wrk({ url: s.url, script: batch ? "batch.lua" : "usage.lua", args: [key, `ab-${which}-${round}-${Date.now()}`, sites.join(","), ...(batch ? [String(batch)] : [])], connections, seconds: secs, timeoutS: 30 }),
      );
      const r = m.result;
      console.log(`round ${round} ${which.padEnd(6)} load ${la}: ${((r.s200 * (batch || 1)) / (r.durationUs / 1e6)).toFixed(0)} events/s, p50 ${(r.p50 / 1000).toFixed(1)} ms, p99 ${(r.p99 / 1000).toFixed(1)} ms, non-200 ${r.sother + r.s402}; CPU per request API ${cpuPer(m.processes[0]!, r.requests)}, PostgreSQL ${cpuPer(m.postgres, r.requests)}`);
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
