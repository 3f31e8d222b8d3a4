import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { SOURCE_CODE } from "../src/server/modules/ledger/index.js";

export const ROOT = resolve(import.meta.dirname, "..");
export const LUA_DIR = resolve(import.meta.dirname, "lua");

export interface WrkResult {
  requests: number;
  durationUs: number;
  /** Latencies in microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  s200: number;
  s402: number;
  sother: number;
  errConnect: number;
  errRead: number;
  errWrite: number;
  errTimeout: number;
  errStatus: number;
}

export const rps = (r: WrkResult) => r.requests / (r.durationUs / 1e6);
export const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
export const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function hasCommand(cmd: string) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} exited ${code}: ${err || out}`))));
  });
}

/** One wrk run with a script from bench/lua; the script prints a WRKJSON line in done(). */
export async function wrk(opts: { url: string; script: string; args: string[]; connections: number; threads?: number; seconds: number; timeoutS?: number }): Promise<WrkResult> {
  const threads = Math.min(opts.threads ?? 2, opts.connections);
  const out = await run(
    "wrk",
    [`-t${threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, `--timeout`, `${opts.timeoutS ?? 10}s`, "-s", resolve(LUA_DIR, opts.script), opts.url, "--", ...opts.args],
    { BENCH_LUA_DIR: LUA_DIR },
  );
  const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  return JSON.parse(line.slice(8)) as WrkResult;
}

export async function pgbench(opts: { url: string; clients: number; seconds: number; scriptFile: string }) {
  const out = await run("pgbench", ["-n", "-c", String(opts.clients), "-j", "2", "-T", String(opts.seconds), "-f", opts.scriptFile, opts.url]);
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? NaN);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
  return { tps, latencyMs: latency, failed };
}

export function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const loadAverage = () => loadavg().map((x) => x.toFixed(2)).join(" ");

export const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** CPU time (ms) a process has used so far, from /proc (Linux); 0 when it is gone. */
export function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in 100 Hz ticks
  } catch {
    return 0;
  }
}

/** CPU used by the given processes and by the PostgreSQL backends of one database, around `fn`. */
export type CpuQuery = (sql: string) => Promise<{ rows: { pid: number }[] }>;

export const cpuPer = (cpuMsTotal: number, n: number) => `${((cpuMsTotal * 1000) / Math.max(1, n)).toFixed(0)} µs`;

/** Machine-wide CPU ticks (100 Hz) from /proc/stat: busy (all but idle and iowait), all, and softirq and steal alone. */
export function systemCpu() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return { busy: user + nice + system + irq + softirq + steal, all: user + nice + system + idle + iowait + irq + softirq + steal, softirq, steal };
}

/**
 * CPU used while `fn` runs: by each of `pids`, by the database's backends, and the machine's busy
 * share (`machine`: 200 = both cores busy the whole time).
 */
export async function measureCpu<T>(query: CpuQuery, pids: (number | undefined)[], fn: () => Promise<T>) {
  const backends = async () => (await query("select pid from pg_stat_activity where datname = current_database()")).rows.map((r) => r.pid);
  const before = new Map<number, number>();
  for (const pid of [...pids, ...(await backends())]) if (pid) before.set(pid, cpuMs(pid));
  const sys0 = systemCpu();
  const t0 = performance.now();
  const result = await fn();
  const wall = performance.now() - t0;
  const sys1 = systemCpu();
  const used = (pid: number | undefined) => (pid && before.has(pid) ? cpuMs(pid) - before.get(pid)! : pid ? cpuMs(pid) : 0);
  const processes = pids.map(used);
  let postgres = 0;
  for (const pid of await backends()) if (!pids.includes(pid)) postgres += used(pid);
  const machine = (100 * cpus().length * (sys1.busy - sys0.busy)) / Math.max(1, sys1.all - sys0.all);
  return { result, wall, processes, postgres, machine, system: { busyMs: (sys1.busy - sys0.busy) * 10, softirqMs: (sys1.softirq - sys0.softirq) * 10, stealMs: (sys1.steal - sys0.steal) * 10 } };
}

/**
 * SQL for a usage event id as the product makes them (ledger/event-id.ts): a UUID version 7 of the
 * timestamptz `at`, so seeded events sort in time like real ones and the ledger export's lookups
 * meet the index the product builds.
 */
export function timeOrderedIdSql(at: string) {
  const hex = `lpad(to_hex((extract(epoch from ${at}) * 1000)::bigint), 12, '0')`;
  return `(substr(${hex}, 1, 8) || '-' || substr(${hex}, 9, 4) || '-7' || substr(gen_random_uuid()::text, 16))::uuid`;
}

/** Which of a bulk-seeded debit's sources it is, as SQL conditions on the debits' `d.i`. */
export interface SeededSources {
  own: string;
  monthly: string;
  oneTime: string;
}

/**
 * SQL for a bulk-seeded event's kept answer, as the product writes it (ledger/event-answer.ts): a
 * balance, then its one part's source and credit. The debits' relation is `d`.
 */
export function seededAnswerSql(source: SeededSources) {
  return `array[0, 0, 0, case when ${source.own} then ${SOURCE_CODE.website} when ${source.oneTime} then ${SOURCE_CODE.group_one_time} else ${SOURCE_CODE.group_monthly} end, 1]::bigint[]`;
}

/**
 * SQL adding up bulk-seeded debits into usage_daily for the group `$1`, as the debit statement
 * does as it debits (ledger/debit-usage.ts): one row per UTC day and website. `debits` has the
 * columns `i`, `widx`, `at`; `websites` maps `idx` to `website_id`; the three conditions on `d.i`
 * tell a debit's source.
 */
export function seededRollupSql(debits: string, websites: string, source: SeededSources) {
  return `insert into usage_daily (group_id, day, website_id, website, group_monthly, group_one_time)
          select $1::uuid, (d.at at time zone 'UTC')::date, w.website_id,
                 count(*) filter (where ${source.own}), count(*) filter (where ${source.monthly}), count(*) filter (where ${source.oneTime})
            from ${debits} d join ${websites} w on w.idx = d.widx group by 1, 2, 3`;
}
