import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fmt, loadAverage, percentile, ROOT } from "./lib.js";

const START_TARGET_MS = 3000;

const freePort = () =>
  new Promise<number>((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => ok(port));
    });
  });

/** One `node scripts/start.mjs` (what `npm start` runs): ms from spawn until GET /healthz answers 200. */
async function timeStart(env: Record<string, string>) {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["scripts/start.mjs"], { cwd: ROOT, env: { ...process.env, LOG_FORMAT: "json", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  try {
    const url = await new Promise<string>((ok, fail) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line.includes("Group Billing is running")) ok((JSON.parse(line) as { url: string }).url.replace("localhost", "127.0.0.1"));
      });
      void exited.then(() => fail(new Error(`npm start exited: ${stderr.join("")}`)));
    });
    for (;;) {
      const r = await fetch(`${url}/healthz`).catch(() => null);
      if (r?.status === 200) break;
    }
    return performance.now() - t0;
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

/**
 * `npm start` on an unchanged checkout (outputs already built): the embedded database and the
 * emulators, as a fresh clone runs it. The first start loads the demo data and is not counted.
 */
export async function benchStart() {
  console.log("== 8. Start: node scripts/start.mjs (what npm start runs) until GET /healthz answers, embedded database, unchanged checkout");
  console.log(`   (load average before: ${loadAverage()})`);
  const dataDir = mkdtempSync(join(tmpdir(), "gb-bench-start-"));
  const env = {
    DATA_DIR: dataDir,
    PORT: "0",
    DATABASE_URL: "",
    STRIPE_API_BASE: "",
    PARTNER_API_BASE: "",
    STRIPE_EMULATOR_PORT: String(await freePort()),
    PARTNER_EMULATOR_PORT: String(await freePort()),
    LOG_LEVEL: "info",
  };
  try {
    const first = await timeStart(env);
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(await timeStart(env));
    runs.sort((a, b) => a - b);
    const median = percentile(runs, 50);
    console.log(`first start (creates the embedded database and loads the demo data): ${fmt(first)} ms`);
    console.log(`5 starts on that data: ${runs.map((r) => fmt(r)).join(" / ")} ms; median ${fmt(median)} ms (target <= ${fmt(START_TARGET_MS)} ms: ${median <= START_TARGET_MS ? "MET" : "MISSED"}); load average after: ${loadAverage()}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log("");
}
