import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../support/process.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/** This test run's token for the emulators' controls (`x-emulator-control-token`). */
export const EMULATOR_CONTROL_TOKEN = `emu_e2e_${randomBytes(16).toString("hex")}`;

export interface AppServer {
  /** e.g. http://localhost:41234, the address Checkout returns to. */
  baseUrl: string;
  /** The local Stripe emulator; `POST /_emulator/fault {mode}` (with the control token) simulates an outage. */
  stripeEmulatorUrl: string;
  /** The local partner emulator; `POST /_emulator/fault {mode}` (with the control token) makes charges decline or fail. */
  partnerEmulatorUrl: string;
  /** Sent as `x-emulator-control-token` to `/_emulator/*` of both emulators. */
  emulatorControlToken: string;
  stop(): Promise<void>;
}

/**
 * The app exactly as `npm start` runs it (server, Stripe and partner emulators, demo data) on free
 * ports with a fresh data directory, so every test file starts from the demo state. `env` adds
 * configuration (e.g. the operator variables).
 */
export async function startAppServer(env: Record<string, string> = {}): Promise<AppServer> {
  if (!existsSync(join(ROOT, "dist/web/index.html"))) {
    throw new Error("dist/web is missing: run `npx vite build` (npm test does) before the e2e tests");
  }
  // A free port may be taken by another process (an outgoing connection's ephemeral port) before
  // the server binds it: then it starts again on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(env);
    } catch (err) {
      if (attempt === 3 || !(err as Error).message.includes("EADDRINUSE")) throw err;
    }
  }
}

async function startOnFreePorts(env: Record<string, string>): Promise<AppServer> {
  const [port, stripePort, partnerPort] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "gb-e2e-"));
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      STRIPE_EMULATOR_PORT: String(stripePort),
      PARTNER_EMULATOR_PORT: String(partnerPort),
      LOG_LEVEL: "info",
      DATABASE_URL: "",
      STRIPE_SECRET_KEY: "",
      STRIPE_API_BASE: "",
      PARTNER_API_BASE: "",
      PUBLIC_URL: "",
      EMULATOR_CONTROL_TOKEN,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));

  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start within 90 s:\n${output}`)), 90_000);
    const check = setInterval(() => {
      if (output.includes("Group Billing is running")) {
        clearInterval(check);
        clearTimeout(timer);
        ok();
      }
    }, 100);
    child.once("exit", (code) => {
      clearInterval(check);
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      fail(new Error(`server exited with ${code}:\n${output}`));
    });
  });

  return {
    baseUrl: `http://localhost:${port}`,
    stripeEmulatorUrl: `http://127.0.0.1:${stripePort}`,
    partnerEmulatorUrl: `http://127.0.0.1:${partnerPort}`,
    emulatorControlToken: EMULATOR_CONTROL_TOKEN,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once("exit", ok));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
