import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { cpuMs, fmt, loadAverage, ms, rps, wrk, type WrkResult } from "./lib.js";
import type { BenchContext } from "./run.js";

const FRAME_TARGET = 0.5;

/** The yardstick: a bare node:http server answering GET /healthz with the product's JSON (plain node, no loader). */
const BARE_SERVER = `
const { createServer } = require("node:http");
const body = JSON.stringify({ ok: true });
const server = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ url: "http://127.0.0.1:" + server.address().port })));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
`;

async function spawnBare() {
  const child = spawn(process.execPath, ["-e", BARE_SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((ok, fail) => {
    createInterface({ input: child.stdout }).once("line", (l) => ok((JSON.parse(l) as { url: string }).url));
    child.once("exit", () => fail(new Error("bare server exited")));
  });
  return { url, child, kill: () => new Promise<void>((ok) => (child.exitCode !== null ? ok() : (child.once("exit", () => ok()), child.kill("SIGTERM")))) };
}

/** wrk against one server, with the server process's CPU per request. */
async function measure(url: string, pid: number | undefined, path: string, connections: number, seconds: number) {
  const before = cpuMs(pid);
  const r = await wrk({ url, script: "get.lua", args: [path], connections, seconds });
  return { r, cpuMs: cpuMs(pid) - before };
}

function add(a: { r: WrkResult; cpuMs: number } | null, b: { r: WrkResult; cpuMs: number }) {
  if (!a) return b;
  return {
    r: { ...b.r, requests: a.r.requests + b.r.requests, durationUs: a.r.durationUs + b.r.durationUs, p99: Math.max(a.r.p99, b.r.p99), p50: (a.r.p50 + b.r.p50) / 2 },
    cpuMs: a.cpuMs + b.cpuMs,
  };
}

/**
 * The request frame: `GET /healthz` of the product (an API process) beside a bare `node:http`
 * server answering the same JSON, same wrk, alternated in rounds so both see the same machine.
 */
export async function benchFrame(ctx: BenchContext) {
  const s1 = ctx.servers[0]!;
  const seconds = Math.max(2, Math.round(Math.min(10, ctx.seconds) / 2));
  const rounds = 2;
  console.log(`== 0. Request frame: GET /healthz, product vs bare node:http (same JSON), wrk -t2 -c${ctx.clients}, ${rounds} alternating rounds of ${seconds} s`);
  console.log(`   (load average before: ${loadAverage()})`);
  const bare = await spawnBare();
  try {
    let b: { r: WrkResult; cpuMs: number } | null = null;
    let p: { r: WrkResult; cpuMs: number } | null = null;
    let k: { r: WrkResult; cpuMs: number } | null = null;
    // Warm-up (JIT) of both servers, not counted.
    await measure(bare.url, bare.child.pid, "/healthz", ctx.clients, 1);
    await measure(s1.url, s1.child.pid, "/healthz", ctx.clients, 1);
    for (let i = 0; i < rounds; i++) {
      b = add(b, await measure(bare.url, bare.child.pid, "/healthz", ctx.clients, seconds));
      p = add(p, await measure(s1.url, s1.child.pid, "/healthz", ctx.clients, seconds));
      // The API-key frame: a usage read that fails authentication before any database work.
      k = add(k, await measure(s1.url, s1.child.pid, "/api/v1/websites/00000000-0000-4000-8000-000000000000/balance", ctx.clients, seconds));
    }
    const line = (label: string, x: { r: WrkResult; cpuMs: number }) =>
      `${label}: ${fmt(rps(x.r))} req/s, p50 ${ms(x.r.p50)}, p99 ${ms(x.r.p99)}, server CPU ${((x.cpuMs * 1000) / Math.max(1, x.r.requests)).toFixed(1)} µs per request`;
    console.log(line("bare node:http GET /healthz", b!));
    console.log(line("product GET /healthz        ", p!));
    console.log(line("product GET /api/v1/... 401 ", k!));
    const ratio = rps(p!.r) / rps(b!.r);
    const cpuRatio = (b!.cpuMs / b!.r.requests) / (p!.cpuMs / p!.r.requests);
    console.log(
      `  = ${ratio.toFixed(2)}x the bare server's requests/s (target >= ${FRAME_TARGET}x: ${ratio >= FRAME_TARGET ? "MET" : "MISSED"}); ` +
        `by CPU per request ${cpuRatio.toFixed(2)}x; load average after: ${loadAverage()}`,
    );
  } finally {
    await bare.kill();
  }
  console.log("");
}
