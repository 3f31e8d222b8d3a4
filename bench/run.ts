/**
 * `npm run bench`: the performance figures of issues 6 and 15 on this machine.
 *
 *   1. hot pool over HTTP (one and two API processes), beside the ceiling of one row lock + one commit per debit
 *   2. batch ingestion through POST /api/v1/usage/batch
 *   3. billing page API on a group of 1,000 websites, 36 months of invoices, 1,000,000 ledger entries
 *   4. the page: gzipped JS of the billing route and Largest Contentful Paint in headless Chromium
 *   5. the usage rollup's cost on the hot path (in-statement vs. 0004's trigger, same run)
 *   6. GET .../billing/usage on 1,000 websites / 1,000,000 debits in the month (p95)
 *   7. GET .../billing/ledger.csv of that group: time and peak RSS of a fresh API process
 *   0. the request frame (GET /healthz beside a bare node:http server), 8. npm start on an unchanged checkout
 *
 * Options (environment): DATABASE_URL (admin url of the PostgreSQL server; a fresh database is
 * created and dropped), BENCH_SECONDS (default 20), BENCH_CLIENTS (32),
 * BENCH_ONLY=frame,hot,batch,billing,web,rollup,usage,start, BENCH_USAGE_DEBITS (1000000),
 * BENCH_LEDGER_ROWS (1000000), BENCH_KEEP_DB=1 (keep the database for inspection).
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg, totalmem } from "node:os";
import pg from "pg";
import { startPartnerEmulator } from "../src/emulators/partner/index.js";
import { startStripeEmulator } from "../src/emulators/stripe/index.js";
import { openDatabase, type Database } from "../src/server/db/client.js";
import { runMigrations } from "../src/server/db/migrate.js";
import { spawnServer, type ServerProcess } from "../tests/support/process.js";
import { fmt, hasCommand, loadAverage } from "./lib.js";
import { ensureBuilt } from "../scripts/build.mjs";
import { benchFrame } from "./frame.js";
import { benchStart } from "./start.js";
import { benchHotPool, benchBatch } from "./usage.js";
import { benchBilling } from "./billing.js";
import { benchWeb } from "./web.js";
import { benchCsvExport, benchRollupCost, benchUsageEndpoint } from "./insight.js";

export interface BenchContext {
  database: Database;
  url: string;
  servers: ServerProcess[];
  stripe: Awaited<ReturnType<typeof startStripeEmulator>>;
  seconds: number;
  clients: number;
  /** The single-row ceiling (pgbench, section 1), printed beside the batch figures too. */
  ceilingTps?: number;
}

const WEBHOOK_SECRET = "whsec_bench";
const PARTNER_KEY = "partner_bench_key";

/** Every line that says MET or MISSED, with its section, repeated at the end of the run. */
const verdicts: string[] = [];
{
  const log = console.log.bind(console);
  let section = "";
  console.log = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.startsWith("== ")) section = line.slice(3).split(":")[0]!;
    if (/\b(MET|MISSED)\b/.test(line)) verdicts.push(`[${section}] ${line.trim()}`);
    log(...args);
  };
}

async function main() {
  if (!hasCommand("wrk")) {
    console.error("wrk is not installed; the HTTP benchmarks need it. Install it with: apt-get update && apt-get install -y wrk");
    process.exit(2);
  }
  if (!hasCommand("pgbench")) console.warn("pgbench is not installed: the single-row-lock ceiling will be measured with node pg clients instead.");
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  const clients = Number(process.env.BENCH_CLIENTS ?? 32);
  const only = new Set((process.env.BENCH_ONLY ?? "frame,hot,batch,billing,web,rollup,usage,start").split(",").map((s) => s.trim()));
  const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

  const name = `gb_bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();

  const started = Date.now();
  let database: Database | null = null;
  const servers: ServerProcess[] = [];
  let stripe: Awaited<ReturnType<typeof startStripeEmulator>> | null = null;
  let partner: Awaited<ReturnType<typeof startPartnerEmulator>> | null = null;
  try {
    database = await openDatabase({ url, poolSize: 4 });
    await runMigrations(database);
    await printMachine(database, seconds, clients);

    stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: WEBHOOK_SECRET });
    partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: PARTNER_KEY });
    const env = {
      DATABASE_URL: url,
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      PARTNER_API_BASE: partner.url,
      PARTNER_API_KEY: PARTNER_KEY,
      DATA_DIR: "/tmp/gb-bench-unused",
    };
    // Two API processes on the one database, running the compiled JavaScript as `npm start` does.
    const built = ensureBuilt({ web: only.has("web") || only.has("start") });
    if (built.length) console.log(`built: ${built.join(", ")}`);
    servers.push(...(await Promise.all([spawnServer(env, { compiled: true }), spawnServer(env, { compiled: true })])));
    stripe.setWebhookUrl(`${servers[0]!.url}/api/webhooks/stripe`);
    console.log(`API processes: ${servers.map((s) => s.url).join(", ")} (database ${name})\n`);

    const ctx: BenchContext = { database, url, servers, stripe, seconds, clients };
    if (only.has("frame")) await benchFrame(ctx);
    if (only.has("hot")) await benchHotPool(ctx);
    if (only.has("batch")) await benchBatch(ctx);
    if (only.has("billing") || only.has("web")) {
      const page = await benchBilling(ctx, { measure: only.has("billing") });
      if (only.has("web")) await benchWeb(ctx, page);
    }
    if (only.has("rollup")) await benchRollupCost(ctx);
    if (only.has("usage")) await benchCsvExport(ctx, await benchUsageEndpoint(ctx));
    if (only.has("start")) await benchStart();
    console.log(`\n== Targets of this run (load average now ${loadAverage()})`);
    for (const v of verdicts.splice(0)) console.log(v);
    console.log(`\nDone in ${fmt((Date.now() - started) / 1000)} s; load average now ${loadAverage()}.`);
  } finally {
    await Promise.all(servers.map((s) => s.kill()));
    await database?.close();
    await stripe?.close();
    await partner?.close();
    if (process.env.BENCH_KEEP_DB !== "1") {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    } else console.log(`kept database ${name}`);
  }
}

async function printMachine(database: Database, seconds: number, clients: number) {
  const cpu = cpus();
  const { rows } = await database.query<{ v: string }>("select version() as v");
  const settings = await database.query<{ name: string; setting: string; unit: string | null }>(
    `select name, setting, unit from pg_settings
      where name in ('synchronous_commit','fsync','wal_sync_method','full_page_writes','shared_buffers','max_connections','commit_delay','wal_level')
      order by name`,
  );
  console.log("== Machine");
  console.log(`${cpu.length} CPU cores (${cpu[0]?.model.trim() ?? "?"}), ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}`);
  console.log(`NOTE: the ${cpu.length} cores are shared by the API process(es), PostgreSQL, wrk/pgbench and this script.`);
  console.log(`PostgreSQL: ${rows[0]!.v.split(",")[0]}`);
  console.log(`  ${settings.rows.map((s) => `${s.name}=${s.setting}${s.unit && s.unit !== "" ? s.unit : ""}`).join(", ")}`);
  console.log(`Load average (1/5/15 min) at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`Run: ${seconds} s per HTTP measurement, ${clients} concurrent clients, ${new Date().toISOString()}\n`);
}

await main();
