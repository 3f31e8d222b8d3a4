/**
 * A CPU profile of one compiled API process under the hot-pool load (POST /api/v1/usage, 50
 * websites on one group pool, 32 clients): prints the heaviest functions by self time.
 *   npm run build && PROF_DIR=/tmp/prof S=10 npx tsx bench/prof-hot.ts
 *   BATCH=1000 CONNS=4 ...: the batch endpoint (POST /api/v1/usage/batch, 1,000 events a request, 4 clients)
 *   SPREAD=1 ...: 50 websites spending their own credits (section 1's spread run) instead of one pool
 *   ROUNDS=4 S=6 PROF_LAST_S=6 ...: several rounds, the profile of the last only (a warm process)
 *   NODE_ARGS="--log-deopt --logfile=/tmp/v8.log" ...: node options for the API process
 * PG_LOG=1 logs every statement with its duration, AUTO_EXPLAIN=1 its plan with time per node.
 * PERF=/tmp/perf.data records the process with Linux perf instead (kernel and native time too):
 *   perf report -i /tmp/perf.data --no-children --sort sym
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cpuPer, measureCpu, wrk, type CpuQuery } from "./lib.js";
import { scratchDatabase, spawnCompiledApi } from "./scratch.js";
import { hotPoolFixture, spreadFixture } from "./usage.js";

const profDir = process.env.PROF_DIR ?? "";

const { name, url, database, drop } = await scratchDatabase("gb_prof");
try {
  if (process.env.PG_LOG) await database.query(`alter database ${name} set log_min_duration_statement = 0`);
  // PG_SET=name=value: a server setting for this database's sessions (e.g. plan_cache_mode=force_generic_plan).
  if (process.env.PG_SET) {
    const [setting, value] = process.env.PG_SET.split("=");
    await database.query(`alter database ${name} set ${setting} = '${value}'`);
  }
  // AUTO_EXPLAIN=1: each statement's plan with its time per node (auto_explain, log_analyze) in PostgreSQL's log.
  if (process.env.AUTO_EXPLAIN) {
    await database.query(`alter database ${name} set session_preload_libraries = 'auto_explain'`);
    await database.query(`alter database ${name} set auto_explain.log_min_duration = 0`);
    await database.query(`alter database ${name} set auto_explain.log_analyze = on`);
  }
  const perf = process.env.PERF ?? "";
  const s = await spawnCompiledApi(process.cwd(), { DATABASE_URL: url }, [...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : perf ? ["--perf-basic-prof-only-functions"] : []), ...(process.env.NODE_ARGS ? process.env.NODE_ARGS.split(" ") : [])]);
  const child = s.child;
  // SPREAD=1: 50 websites spending their own credits (section 1's spread run) instead of one group pool.
  const { key, sites } = process.env.SPREAD ? await spreadFixture({ database } as never, s.url) : await hotPoolFixture({ database } as never);
  for (let round = 1; round <= Number(process.env.ROUNDS ?? 1); round++) {
    const recorder = perf ? spawn("perf", ["record", "-F", "1999", "-g", "-p", String(s.pid), "-o", perf], { stdio: "ignore" }) : undefined;
    const m = await measureCpu(database.query as CpuQuery, [s.pid], () => wrk({ url: s.url, script: process.env.BATCH ? "batch.lua" : "usage.lua", args: [key, `prof-${round}-${Date.now()}`, sites.join(","), ...(process.env.BATCH ? [process.env.BATCH] : [])], connections: Number(process.env.CONNS ?? 32), timeoutS: 30, seconds: Number(process.env.S ?? 10) }));
    const r = m.result;
    if (recorder) {
      recorder.kill("SIGINT");
      await new Promise((done) => recorder.once("exit", done));
    }
    console.log(`machine: ${m.machine.toFixed(0)}% of 2 cores busy (${cpuPer(m.system.busyMs, r.requests)} per request in all; softirq ${cpuPer(m.system.softirqMs, r.requests)}, steal ${cpuPer(m.system.stealMs, r.requests)})`);
    console.log(`${(r.s200 / (r.durationUs / 1e6)).toFixed(0)} events/s, p50 ${(r.p50 / 1000).toFixed(1)} ms, p99 ${(r.p99 / 1000).toFixed(1)} ms, non-200 ${r.sother + r.s402}; CPU per request API ${cpuPer(m.processes[0]!, r.requests)}, PostgreSQL ${cpuPer(m.postgres, r.requests)}`);
  }
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  if (profDir) {
    const file = readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile")).sort().at(-1)!;
    const prof = JSON.parse(readFileSync(join(profDir, file), "utf8")) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
    // PROF_LAST_S=N: only the samples of the profile's last N seconds (the last round, after warm-up and JIT).
    const times: number[] = [];
    prof.timeDeltas.reduce((t, d, i) => (times[i] = t + d), 0);
    const from = process.env.PROF_LAST_S ? times.at(-1)! - Number(process.env.PROF_LAST_S) * 1e6 : -Infinity;
    prof.samples = prof.samples.filter((_, i) => times[i]! >= from);
    prof.timeDeltas = prof.timeDeltas.filter((_, i) => times[i]! >= from);
    const self = new Map<number, number>();
    prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
    const byFn = new Map<string, number>();
    let total = 0;
    for (const n of prof.nodes) {
      const t = self.get(n.id) ?? 0;
      total += t;
      const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/.*node_modules\//, "nm/").replace(/.*dist\/server\//, "")}:${n.callFrame.lineNumber}`;
      byFn.set(k, (byFn.get(k) ?? 0) + t);
    }
    const idle = [...byFn].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
    console.log(`profile ${file}: busy ${((total - idle) / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms`);
    for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(`${((100 * v) / (total - idle)).toFixed(1).padStart(5)}%  ${k}`);
    // Inclusive time: each sample counts once for every distinct function on its stack.
    const parent = new Map<number, number>();
    for (const n of prof.nodes as unknown as { id: number; children?: number[] }[]) for (const ch of n.children ?? []) parent.set(ch, n.id);
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const incl = new Map<string, number>();
    prof.samples.forEach((id, i) => {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur)!;
        const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/.*node_modules\//, "nm/").replace(/.*dist\/server\//, "")}:${n.callFrame.lineNumber}`;
        if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + (prof.timeDeltas[i] ?? 0)); }
      }
    });
    console.log("inclusive:");
    for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40) * 2)) console.log(`${((100 * v) / (total - idle)).toFixed(1).padStart(5)}%  ${k}`);
  }
} finally {
  if (process.env.KEEP_DB) {
    await database.close();
    console.log(`kept database ${url}`);
  } else await drop();
}
