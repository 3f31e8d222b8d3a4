import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_PASSWORD } from "../../src/server/demo/demo-data.js";
import { createTestDatabase, testDbKind } from "../support/database.js";
import { Client } from "../support/http.js";
import { freePort, spawnServer, type ServerProcess } from "../support/process.js";

// A fresh `npm start` with demo data, in its own process: the moment /readyz says 200, a demo user
// can sign in. Before that, sign-in says "try again" (503), never "wrong password" (401).
describe("startup with demo data", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("answers /readyz 200 only once sign-ins work", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gb-startup-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = { DATA_DIR: dataDir, DEMO_DATA: "1" };
    if (testDbKind() === "postgres") {
      const db = await createTestDatabase("postgres");
      cleanups.push(() => db.drop());
      env.DATABASE_URL = db.url!;
    }
    const [port, stripePort, partnerPort] = [await freePort(), await freePort(), await freePort()];
    Object.assign(env, { PORT: String(port), STRIPE_EMULATOR_PORT: String(stripePort), PARTNER_EMULATOR_PORT: String(partnerPort) });
    const spawned = spawnServer(env);
    spawned.then((p) => cleanups.push(() => p.kill()), () => undefined);
    const client = new Client(`http://127.0.0.1:${port}`);
    const signIn = () => client.post("/api/session", { email: "org-admin@demo.test", password: DEMO_PASSWORD });

    // Poll from the first moment the port answers; every sign-in before ready must be a 503.
    const early: number[] = [];
    const until = Date.now() + 90_000;
    for (;;) {
      expect(Date.now()).toBeLessThan(until);
      const ready = await client.get("/readyz").catch(() => null);
      if (ready?.status === 200) break;
      if (ready) {
        expect(ready.status).toBe(503);
        // Startup may finish between the two requests (then 200); a half-loaded demo's 401 never.
        const r = await signIn();
        expect([503, 200]).toContain(r.status);
        if (r.status === 503) {
          early.push(r.status);
          expect(r.json.error.code).toBe("service_unavailable");
          expect(r.headers.get("retry-after")).toBe("1");
        }
      }
      await new Promise((ok) => setTimeout(ok, 20)); // polling a process we do not control
    }
    const r = await signIn();
    expect(r.status).toBe(200);
    const me = await client.get("/api/session");
    expect(me.status).toBe(200);
    expect(early.length).toBeGreaterThan(0); // the demo load did take a while, so the gate was exercised
    (await spawned satisfies ServerProcess);
  }, 120_000);
});

describe("startup with a bad configuration", () => {
  it("exits naming every bad variable and its limit, without a stack trace", async () => {
    const started = spawnServer({ EMULATOR_CONTROL_TOKEN: "short", CREDITS_PER_PACKAGE: "lots" });
    const error = await started.then(
      (p) => p.kill().then(() => new Error("it started")),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/^server exited: Invalid configuration:\n/);
    expect(error.message).toContain("EMULATOR_CONTROL_TOKEN: Too small: expected string to have >=16 characters");
    expect(error.message).toContain("CREDITS_PER_PACKAGE");
    expect(error.message).not.toMatch(/\n\s+at /);
  });
});
