import { openDatabase, type Database, type Query } from "../src/server/db/client.js";
import { systemClock } from "../src/server/clock.js";
import { createUsageProcessor } from "../src/server/modules/credits/usage-processor.js";
import { createOrgFixture, fundGroupPool } from "../tests/support/factories.js";
import { fmt, percentile } from "./lib.js";

/**
 * The usage processor alone, in this process (no HTTP): `clients` loops submitting one-credit
 * events to a hot pool. Every transaction is timed, and its statements counted, to tell whether
 * the database or HTTP dominates the hot-pool figure.
 */
export async function profileProcessor({
  url,
  seconds,
  clients,
  create = createUsageProcessor,
}: {
  url: string;
  seconds: number;
  clients: number;
  create?: typeof createUsageProcessor;
}) {
  const base = await openDatabase({ url, poolSize: 20 });
  const statementMs = new Map<string, number[]>();
  const timed =
    (q: Query): Query =>
    async (text, params, opts) => {
      const s = performance.now();
      try {
        return await q(text, params, opts);
      } finally {
        const key = text.trim().split(/\s+/).slice(0, 3).join(" ");
        const list = statementMs.get(key) ?? [];
        list.push(performance.now() - s);
        statementMs.set(key, list);
      }
    };
  // Every statement is timed, with or without a transaction (the debit runs without one unless two processes contend).
  const database: Database = { ...base, query: timed(base.lanes.query), transaction: (fn) => base.lanes.transaction((q) => fn(timed(q))) };
  try {
    const f = await createOrgFixture(base.db, { websites: 50 });
    await fundGroupPool(base, f.groupA.id, { monthly: 1_000_000_000, oneTime: 1_000_000_000 });
    const processor = create({ database, clock: systemClock });
    let n = 0;
    const until = Date.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; Date.now() < until; i++) {
          const o = await processor.submit({ orgId: f.org.id, websiteId: f.websitesA[(i + c) % 50]!.id, credits: 1, idempotencyKey: `p-${c}-${i}` });
          if (o.status !== 200) throw new Error(`unexpected ${o.status}`);
          n++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    // One write statement per committed batch (the debit's "with ev as ..."), whichever way it ran.
    const writes = (statementMs.get("with ev as") ?? []).slice().sort((a, b) => a - b);
    const statements = [...statementMs.entries()].map(([k, v]) => `${k}… ${fmt(v.length)} × ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} ms`);
    return {
      eventsPerSecond: n / elapsed,
      transactions: writes.length,
      batch: n / Math.max(1, writes.length),
      txP50: percentile(writes, 50),
      txP99: percentile(writes, 99),
      line: `${fmt(n / elapsed)} events/s, ${fmt(writes.length)} debit writes (average batch ${(n / Math.max(1, writes.length)).toFixed(1)}), write statement p50 ${percentile(writes, 50).toFixed(1)} ms, p99 ${percentile(writes, 99).toFixed(1)} ms; per statement: ${statements.join("; ")}`,
    };
  } finally {
    await base.close();
  }
}
