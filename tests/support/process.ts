import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

/** The operator (host platform) key every test and bench server accepts: website grants need it. */
export const OPERATOR_KEY = "op_test_operator_key_0123456789";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Stop it: SIGTERM by default, or SIGKILL for a crash. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `src/server/main.ts` in its own OS process (through tsx, or compiled as `npm start` runs it), on a free port, against
 * the given database and outside services. Resolves once it logs that it is running.
 */
export async function spawnServer(
  env: Record<string, string>,
  opts: { compiled?: boolean; /** Every line the process logs (JSON), e.g. to interrupt it at a step. */ onLine?: (line: string, child: ChildProcess) => void } = {},
): Promise<ServerProcess> {
  // compiled: the JavaScript `npm start` runs (dist/server, built by scripts/build.mjs), as the benchmark measures it.
  const entry = opts.compiled ? ["dist/server/server/main.js"] : ["--import", "tsx", "src/server/main.ts"];
  const child = spawn(process.execPath, entry, {
    // info level: the "running" line is how we learn the port (stdout is drained for the whole run).
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", DEMO_DATA: "0", OPERATOR_API_KEY: OPERATOR_KEY, ...env, LOG_FORMAT: "json", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  const stderr: string[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr.join("")}`)), 60_000);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      opts.onLine?.(line, child);
      if (!line.includes("Group Billing is running")) return;
      const parsed = JSON.parse(line) as { url: string };
      clearTimeout(timer);
      resolve(parsed.url.replace("localhost", "127.0.0.1"));
    });
    void exited.then(() => reject(new Error(`server exited: ${stderr.join("")}`)));
  });
  return {
    url,
    child,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}

/**
 * A TCP port nothing listens on right now (for a spawned server and its emulators), below Linux's
 * ephemeral range (32768-60999): a port from that range, closed again until the server binds it,
 * can meanwhile become an outgoing connection's own port (a test run makes thousands), and the
 * server's start failed with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const s = createServer();
    const bound = await new Promise<boolean>((ok) => {
      s.once("error", () => ok(false));
      s.listen(port, "127.0.0.1", () => ok(true));
    });
    if (!bound) continue;
    await new Promise<void>((ok) => s.close(() => ok()));
    return port;
  }
}
