import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import type { ServerProcess } from "../support/process.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { requestFrom, sendLargeBody } from "../support/http.js";
import type { ChaosEnv, Report } from "./lib/env.js";

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!) : 0;
};
const rssMb = (p: ServerProcess) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
};

/**
 * 7. Sign-in flood: 20 guessing addresses spray wrong passwords over many accounts (the real
 * user's included) with 400 requests in flight, on both processes, while the real user signs in
 * from their own address (a browser new to the account: no device cookie); then the same from a
 * "botnet" of fresh addresses, where the real user is a returning browser (its device cookie from
 * a sign-in before the flood) and a new browser's attempts are reported too (429s it met, retrying
 * after Retry-After). Every address is a real socket address (127.x.y.z), as the server sees it
 * without a proxy.
 */
export async function signInFlood(env: ChaosEnv, report: Report, processes: ServerProcess[]) {
  const f = await createOrgFixture(env.database.db, { websites: 1 });
  const victims = [f.orgAdmin, f.member, f.groupAdmin, ...Array.from({ length: 30 }, (_, i) => `nobody-${i}@chaos.example`)];
  const signIn = (i: number, from: string, headers: Record<string, string> = {}) =>
    requestFrom(processes[i % processes.length]!.url, from, "POST", "/api/session", { email: f.orgAdmin, password: TEST_PASSWORD }, headers);
  for (const [name, addressOf, returning] of [
    ["signin_flood", (i: number) => `127.0.1.${1 + (i % 20)}`, false],
    ["signin_botnet", (i: number) => `127.1.${Math.floor(i / 250) % 250}.${1 + (i % 250)}`, true],
  ] as const) {
    // A returning browser signed in to the account before (here: before the flood) and keeps its device cookie.
    let device: Record<string, string> = {};
    if (returning) {
      const before = await signIn(0, "127.0.2.2");
      const cookie = [before.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith("gb_device="));
      if (before.status !== 200 || !cookie) throw new Error(`sign-in before the flood: ${before.status}`);
      device = { cookie: cookie.split(";")[0]! };
    }
    // The same sign-ins without a flood, on this machine now: what "prompt" means under its load.
    const quiet: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await signIn(i, returning ? "127.0.2.2" : "127.0.2.1", device);
      quiet.push(performance.now() - t);
    }
    report.figure(`${name}.user_without_flood_p50_ms`, percentile(quiet, 50));
    let flooding = true;
    let sent = 0;
    const statuses: Record<number, number> = {};
    const attacker = async () => {
      while (flooding) {
        const i = sent++;
        const r = await requestFrom(processes[i % processes.length]!.url, addressOf(i), "POST", "/api/session", { email: victims[i % victims.length], password: `guess-${i}` }).catch(() => ({ status: 0 }));
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    };
    const floodStarted = performance.now();
    const attackers = Array.from({ length: 400 }, attacker);
    // The user arrives once the flood is under way: as many wrong passwords checked as there are
    // flood addresses (the first attempts of 20 fresh addresses are a small botnet of their own), or after 15 s.
    const building = performance.now();
    while ((statuses[401] ?? 0) < 20 && performance.now() - building < 15_000) await new Promise((r) => setTimeout(r, 100));
    report.figure(`${name}.ms_before_the_user`, Math.round(performance.now() - floodStarted));
    const userTimes: number[] = [];
    let userFailed = 0;
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const r = await signIn(i, returning ? "127.0.2.2" : "127.0.2.1", device);
      userTimes.push(performance.now() - t);
      if (r.status !== 200) {
        userFailed++;
        console.error(`${name}: the user's sign-in ${i} answered ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    // A browser new to the account during the same flood, from its own address: how long until it is in, retrying after each 429.
    const newTimes: number[] = [];
    let new429 = 0;
    if (returning) {
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        for (let tries = 0; tries < 30; tries++) {
          const r = await signIn(i, `127.0.3.${1 + i}`);
          if (r.status === 200) break;
          if (r.status === 429) new429++;
          await new Promise((ok) => setTimeout(ok, Number(r.headers["retry-after"] ?? 1) * 1000));
        }
        newTimes.push(performance.now() - t);
      }
    }
    const load = loadavg().map((l) => l.toFixed(1)).join(" ");
    flooding = false;
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    await Promise.all(attackers);
    const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
    report.figure(`${name}.attempts`, sent);
    report.figure(`${name}.answers`, JSON.stringify(statuses));
    report.figure(`${name}.429_share`, `${(((statuses[429] ?? 0) / Math.max(1, answered)) * 100).toFixed(1)}%`);
    report.figure(`${name}.seconds_flooding`, Math.round(floodSeconds));
    report.figure(`${name}.wrong_passwords_checked_per_second`, Math.round(((statuses[401] ?? 0) / floodSeconds) * 10) / 10);
    report.figure(`${name}.user`, returning ? "returning browser (device cookie), own address" : "browser new to the account, own address");
    report.figure(`${name}.user_p50_ms`, percentile(userTimes, 50));
    report.figure(`${name}.user_p99_ms`, percentile(userTimes, 99));
    report.must(`${name}.user_refused`, userFailed, 0, "a client that did not guess is slowed, never refused");
    if (returning) {
      report.figure(`${name}.new_browser_p50_ms`, percentile(newTimes, 50));
      report.figure(`${name}.new_browser_p99_ms`, percentile(newTimes, 99));
      report.figure(`${name}.new_browser_429s`, new429);
    }
    report.figure(`${name}.load_average`, `${load} (shared machine)`);
    report.must(`${name}.5xx`, Object.entries(statuses).filter(([s]) => Number(s) >= 500 || Number(s) === 0).reduce((n, [, c]) => n + c, 0), 0);
  }
}

/**
 * 8. Large-body flood: 8 bodies of 30 MB at a time (declared and chunked, to every kind of
 * endpoint, both processes) for several rounds, while /healthz is polled. Each must be answered
 * 413 within a second (a reset instead of the answer counts as not 413); /healthz must keep
 * answering fast; memory must not grow with them (never buffered). Prints the 413 times, the
 * /healthz latency during the flood and the peak RSS of the API processes.
 */
export async function largeBodyFlood(env: ChaosEnv, report: Report, processes: ServerProcess[]) {
  const MB = 1024 * 1024;
  const paths = ["/api/session", "/api/v1/usage", "/api/v1/usage/batch", "/api/webhooks/stripe"];
  const rssBefore = Math.max(...processes.map(rssMb));
  let peakRss = rssBefore;
  let flooding = true;
  const health: number[] = [];
  const healthPoll = (async () => {
    while (flooding) {
      for (const p of processes) {
        const t = performance.now();
        const r = await fetch(`${p.url}/healthz`).catch(() => null);
        health.push(r?.status === 200 ? performance.now() - t : 60_000);
        await r?.body?.cancel();
      }
      peakRss = Math.max(peakRss, ...processes.map(rssMb));
    }
  })();
  const times: number[] = [];
  const byKind: Record<"declared" | "chunked", number[]> = { declared: [], chunked: [] };
  const statuses: Record<number, number> = {};
  let not413 = 0;
  for (let round = 0; round < 6; round++) {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sendLargeBody(processes[i % processes.length]!.url, paths[(round + i) % paths.length]!, { bytes: 30 * MB, chunked: i % 2 === 1 }).catch(() => ({ ms: 60_000, status: 0 })),
      ),
    );
    for (const [i, a] of answers.entries()) {
      times.push(a.ms);
      byKind[i % 2 === 1 ? "chunked" : "declared"].push(a.ms);
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      if (a.status !== 413) not413++;
    }
  }
  flooding = false;
  await healthPoll;
  report.figure("large_bodies.sent", `${times.length} bodies of 30 MB, 8 at a time`);
  report.figure("large_bodies.answers", JSON.stringify(statuses));
  report.must("large_bodies.not_413", not413, 0, "every oversized body is refused with 413 (0 = no reset, no timeout)");
  report.figure("large_bodies.413_p50_ms", percentile(times, 50));
  report.figure("large_bodies.413_p99_ms", percentile(times, 99));
  for (const [kind, ms] of Object.entries(byKind)) report.figure(`large_bodies.413_max_ms_${kind}`, Math.round(Math.max(...ms)));
  report.must("large_bodies.413_max_ms", Math.round(Math.max(...times)), (v) => v < 1000, "each 30 MB body answered 413 within a second");
  report.figure("large_bodies.healthz_polls", health.length);
  report.figure("large_bodies.healthz_p50_ms", percentile(health, 50));
  report.figure("large_bodies.healthz_p99_ms", percentile(health, 99));
  report.must("large_bodies.healthz_max_ms", Math.round(Math.max(...health)), (v) => v < 1000, "/healthz unaffected");
  report.figure("large_bodies.rss_before_mb", Math.round(rssBefore));
  report.figure("large_bodies.peak_rss_mb", Math.round(peakRss));
  report.must("large_bodies.rss_growth_mb", Math.round(peakRss - rssBefore), (v) => v < 100, "bodies are never buffered (8 x 30 MB would be 240 MB)");
}
