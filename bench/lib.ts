import { execFileSync, spawn } from "node:child_process";
import { loadavg } from "node:os";
import { resolve } from "node:path";

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
