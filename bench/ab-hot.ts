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
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import pg from "pg";
import { openDatabase } from "../src/server/db/client.js";
import { runMigrations } from "../src/server/db/migrate.js";
import { startStripeEmulator } from "../src/emulators/stripe/index.js";
import { startPartnerEmulator } from "../src/emulators/partner/index.js";
import { cpuPer, measureCpu, wrk, type CpuQuery } from "./lib.js";
import { hotPoolFixture } from "./usage.js";
import { OPERATOR_KEY } from "../tests/support/process.js";

const children: import("node:child_process").ChildProcess[] = [];
function spawnAt(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ["dist/server/server/main.js"], { cwd, env: { ...process.env, PORT: "0", HOST: "127.0.0.1", DEMO_DATA: "0", OPERATOR_API_KEY: OPERATOR_KEY, ...env, LOG_FORMAT: "json", LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const err: string[] = [];
  child.stderr.on("data", (d: Buffer) => err.push(d.toString()));
  return new Promise<{ url: string; pid: number }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start in ${cwd}: ${err.join("")}`)), 40_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.includes("Group Billing is running")) { clearTimeout(t); resolve({ url: (JSON.parse(line) as { url: string }).url.replace("localhost", "127.0.0.1"), pid: child.pid! }); }
    });
  });
}
if (!process.env.BEFORE_DIR) throw new Error("BEFORE_DIR: the earlier checkout, built (see the header)");
const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `gb_ab_${randomBytes(3).toString("hex")}`;
const c = new pg.Client({ connectionString: admin }); await c.connect(); await c.query(`create database ${name}`); await c.end();
const u = new URL(admin);
u.pathname = `/${name}`;
const url = u.toString();
const database = await openDatabase({ url, poolSize: 4 });
const stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: "whsec_x" });
const partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: "pk" });
try {
  await runMigrations(database);
  console.log("migrated");
  const env = { PARTNER_API_BASE: partner.url, PARTNER_API_KEY: "pk", DATABASE_URL: url, STRIPE_API_BASE: stripe.url, STRIPE_WEBHOOK_SECRET: "whsec_x", DATA_DIR: "/tmp/gb-bench-unused" };
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
  await database.close(); await stripe.close(); await partner.close();
  const d = new pg.Client({ connectionString: admin }); await d.connect(); await d.query(`drop database if exists ${name} with (force)`); await d.end();
}
