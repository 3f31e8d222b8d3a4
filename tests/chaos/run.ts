/**
 * `npm run chaos`: the heavy reliability runs on PostgreSQL with real API processes.
 * Prints one `name: figure` line per figure; exits 1 if any guarantee failed.
 *   1. contention  2. crash (kill -9 mid-load)  3. webhooks (triple, shuffled, unknown, stale)
 *   4. hostile input (>= 10,000 requests)  6. outages of Stripe and the partner
 *   7. sign-in flood (a real user still gets in; p99)  8. large-body flood (413 within a second)
 *   9. top-up storm (pool drained repeatedly through two processes: purchases == crossings, charges == grants)
 *  10. raise storm (many raises of one plan at once through two processes: billed == granted, charges == grants)
 *  11. slow partner (answers later than our timeout, purchases retried, a renewal: charges == grants, billed == granted)
 */
import { loadavg } from "node:os";
import type { ServerProcess } from "../support/process.js";
import { hostile, outages, webhooks } from "./billing.js";
import { contention, crash } from "./contention.js";
import { largeBodyFlood, signInFlood } from "./edges.js";
import { raiseStorm, slowPartner } from "./plans.js";
import { topUpStorm } from "./top-up.js";
import { createChaosEnv, Report } from "./lib/env.js";

const report = new Report();
const started = Date.now();
const env = await createChaosEnv();
const processes: ServerProcess[] = await Promise.all([env.spawn(), env.spawn()]);
const only = process.env.CHAOS_ONLY?.split(",");
const scenarios: [string, () => Promise<void>][] = [
  ["contention", () => contention(env, report, processes, Number(process.env.CHAOS_EVENTS ?? 20_000))],
  ["crash", () => crash(env, report, processes, Number(process.env.CHAOS_EVENTS ?? 20_000))],
  ["hostile", () => hostile(env, report, processes, Number(process.env.CHAOS_HOSTILE ?? 10_000))],
  ["webhooks", () => webhooks(env, report, processes)],
  ["outages", () => outages(env, report, processes)],
  ["signin", () => signInFlood(env, report, processes)],
  ["bodies", () => largeBodyFlood(env, report, processes)],
  ["topup", () => topUpStorm(env, report, processes)],
  ["raises", () => raiseStorm(env, report, processes)],
  ["slowpartner", () => slowPartner(env, report, processes)],
];
try {
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue;
    const t = Date.now();
    try {
      await run();
    } catch (err) {
      report.failures.push(`${name} crashed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    report.figure(`${name}.seconds`, Math.round((Date.now() - t) / 1000));
    // The machine may be shared: every scenario's figures come with the load they were measured under.
    report.figure(`${name}.load_average`, loadavg().map((l) => l.toFixed(1)).join(" "));
  }
} finally {
  await Promise.all(processes.map((p) => p.kill()));
  await env.close();
}
report.figure("chaos.seconds", Math.round((Date.now() - started) / 1000));
report.figure("chaos.failed_guarantees", report.failures.length);
for (const f of report.failures) console.error(`FAILED ${f}`);
process.exit(report.failures.length ? 1 : 0);
