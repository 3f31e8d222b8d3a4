/**
 * What one debit write costs, by batch size: one connection (or WRITERS, at once, on the same pool)
 * writes batches of B one-credit events to a hot pool one after another (planned from the lane's
 * memory, as the hot path does), and the CPU of this process (planning, the driver) and of the
 * connections' PostgreSQL backends (bind, execute, commit) is divided per write. The per-write fixed
 * cost and the per-event cost follow from two sizes.
 *   npx tsx bench/write-cost.ts            SIZES=1,8,16,32,64 WRITES=400 WRITERS=1 EXPLAIN=
 */
import { systemClock } from "../src/server/clock.js";
import { DebitCache, debitUsageOptimistic, NeedsRead, type UsageEvent } from "../src/server/modules/ledger/index.js";
import { createOrgFixture, fundGroupPool } from "../tests/support/factories.js";
import { cpuMs } from "./lib.js";
import { scratchDatabase } from "./scratch.js";

const sizes = (process.env.SIZES ?? "1,8,16,32,64").split(",").map(Number);
const writes = Number(process.env.WRITES ?? 400);
const { url, drop } = await scratchDatabase("gb_write");
const { openDatabase } = await import("../src/server/db/client.js");
// WRITERS=2: that many connections write to the same pool at once (as two API processes' lanes do), each with its own memory.
const writers = await Promise.all(Array.from({ length: Number(process.env.WRITERS ?? 1) }, () => openDatabase({ url, poolSize: 1 })));
const database = writers[0]!;
try {
  const f = await createOrgFixture(database.db, { websites: 50 });
  await fundGroupPool(database, f.groupA.id, { monthly: 1_000_000_000, oneTime: 1_000_000_000 });
  const backends = await Promise.all(writers.map(async (w) => (await w.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid));
  // EXPLAIN=1: each statement's plan with its time per node in PostgreSQL's log.
  if (process.env.EXPLAIN) {
    for (const sql of ["load 'auto_explain'", "set auto_explain.log_min_duration = 0", "set auto_explain.log_analyze = on", "set log_min_duration_statement = 0"]) await database.query(sql);
  }
  const caches = writers.map(() => new DebitCache(60_000));
  let n = 0, retries = 0;
  const batch = (size: number): UsageEvent[] =>
    Array.from({ length: size }, () => ({ orgId: f.org.id, websiteId: f.websitesA[n % 50]!.id, credits: 1, idempotencyKey: `w-${n++}` }));
  const write = async (w: number, size: number) => {
    const events = batch(size);
    for (let from: "cache" | "read" = "cache"; ; from = "read") {
      try {
        return await debitUsageOptimistic(writers[w]!.query, events, systemClock(), { from, cache: caches[w] });
      } catch (err) {
        if (from === "read") throw err;
        // As the lane does: a batch of websites it does not know yet is read; a plan the write refused, read afresh.
        if (!(err instanceof NeedsRead)) {
          retries++;
          caches[w]!.clear();
        }
      }
    }
  };
  const run = (size: number, count: number) => Promise.all(writers.map(async (_, w) => { for (let i = 0; i < count; i++) await write(w, size); }));
  await run(16, 200); // warm: JIT, plan cache, the lanes' memory
  const cpuOf = () => backends.reduce((a, pid) => a + cpuMs(pid), 0);
  for (const round of [1, 2]) {
    for (const size of sizes) {
      retries = 0;
      const pg0 = cpuOf(), me0 = process.cpuUsage(), t0 = performance.now();
      await run(size, writes);
      const all = writes * writers.length;
      const wall = performance.now() - t0, pg = cpuOf() - pg0, me = process.cpuUsage(me0);
      const api = (me.user + me.system) / 1000;
      console.log(
        `round ${round}, batch ${String(size).padStart(3)}${writers.length > 1 ? `, ${writers.length} writers` : ""}: ${((1000 * all) / wall).toFixed(0)} writes/s, ${((1000 * all * size) / wall).toFixed(0)} events/s; CPU per write: PostgreSQL ${((1000 * pg) / all).toFixed(0)} µs, ` +
          `this process ${((1000 * api) / all).toFixed(0)} µs; per event: PostgreSQL ${((1000 * pg) / all / size).toFixed(1)} µs, this process ${((1000 * api) / all / size).toFixed(1)} µs; ${retries} planned again`,
      );
    }
  }
} finally {
  await Promise.all(writers.map((w) => w.close()));
  await drop();
}
