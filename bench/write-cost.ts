/**
 * What one debit write costs, by batch size, without contention: one connection writes batches of
 * B one-credit events to a hot pool one after another (planned from the lane's memory, as the hot
 * path does), and the CPU of this process (planning, the driver) and of the connection's
 * PostgreSQL backend (bind, execute, commit) is divided per write. The per-write fixed cost and the
 * per-event cost follow from two sizes.
 *   npx tsx bench/write-cost.ts            SIZES=1,8,16,32,64 WRITES=400
 */
import { systemClock } from "../src/server/clock.js";
import { DebitCache, debitUsageOptimistic, type UsageEvent } from "../src/server/modules/ledger/index.js";
import { createOrgFixture, fundGroupPool } from "../tests/support/factories.js";
import { cpuMs } from "./lib.js";
import { scratchDatabase } from "./scratch.js";

const sizes = (process.env.SIZES ?? "1,8,16,32,64").split(",").map(Number);
const writes = Number(process.env.WRITES ?? 400);
const { url, drop } = await scratchDatabase("gb_write");
const { openDatabase } = await import("../src/server/db/client.js");
const database = await openDatabase({ url, poolSize: 1 });
try {
  const f = await createOrgFixture(database.db, { websites: 50 });
  await fundGroupPool(database, f.groupA.id, { monthly: 1_000_000_000, oneTime: 1_000_000_000 });
  const backend = (await database.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
  const cache = new DebitCache(60_000);
  let n = 0;
  const batch = (size: number): UsageEvent[] =>
    Array.from({ length: size }, () => ({ orgId: f.org.id, websiteId: f.websitesA[n % 50]!.id, credits: 1, idempotencyKey: `w-${n++}` }));
  const write = async (size: number) => {
    const events = batch(size);
    try {
      await debitUsageOptimistic(database.query, events, systemClock(), { from: "cache", cache });
    } catch {
      await debitUsageOptimistic(database.query, events, systemClock(), { from: "read", cache });
    }
  };
  for (let i = 0; i < 200; i++) await write(16); // warm: JIT, plan cache, the lane's memory
  for (const round of [1, 2]) {
    for (const size of sizes) {
      const pg0 = cpuMs(backend), me0 = process.cpuUsage(), t0 = performance.now();
      for (let i = 0; i < writes; i++) await write(size);
      const wall = performance.now() - t0, pg = cpuMs(backend) - pg0, me = process.cpuUsage(me0);
      const api = (me.user + me.system) / 1000;
      console.log(
        `round ${round}, batch ${String(size).padStart(3)}: write ${(wall / writes).toFixed(2)} ms wall; CPU per write: PostgreSQL ${((1000 * pg) / writes).toFixed(0)} µs, ` +
          `this process ${((1000 * api) / writes).toFixed(0)} µs; per event: PostgreSQL ${((1000 * pg) / writes / size).toFixed(1)} µs, this process ${((1000 * api) / writes / size).toFixed(1)} µs`,
      );
    }
  }
} finally {
  await database.close();
  await drop();
}
