import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_PASSWORD } from "../../src/server/demo/demo-data.js";
import { PARTNER_EMULATOR_STATE_FILE } from "../../src/emulators/partner/partner-emulator.js";
import { STRIPE_EMULATOR_STATE_FILE } from "../../src/emulators/stripe/stripe-emulator.js";
import { openDatabase } from "../../src/server/db/client.js";
import { createTestDatabase, testDbKind } from "../support/database.js";
import { expectDemoStory, type DemoOutside } from "../support/demo-story.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { freePort, spawnServer } from "../support/process.js";

/** The emulators' records as they saved them under DATA_DIR (STRIPE_EMULATOR_STATE_FILE, PARTNER_EMULATOR_STATE_FILE). */
function outsideFromStateFiles(dataDir: string): DemoOutside {
  const stripe = JSON.parse(readFileSync(join(dataDir, STRIPE_EMULATOR_STATE_FILE), "utf8")) as { invoices: (Awaited<ReturnType<DemoOutside["stripeInvoices"]>>[number] & { customer: string | { id: string }; status: string })[] };
  const partner = JSON.parse(readFileSync(join(dataDir, PARTNER_EMULATOR_STATE_FILE), "utf8")) as { charges: { accountId: string; description: string }[] };
  return {
    stripeInvoices: (customerId) => Promise.resolve(stripe.invoices.filter((i) => (typeof i.customer === "string" ? i.customer : i.customer.id) === customerId && i.status === "paid")),
    partnerCharges: (accountId) => Promise.resolve(partner.charges.filter((c) => c.accountId === accountId)),
  };
}

// `npm start` killed (SIGKILL) in the middle of loading the demo: the next start finishes the load,
// refusing sign-ins until it is complete, and the demo is the same one story, nothing twice.
describe("an interrupted demo load", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("is completed by the next start", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gb-demo-resume-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = { DATA_DIR: dataDir, DEMO_DATA: "1" };
    let databaseUrl: string | null = null;
    if (testDbKind() === "postgres") {
      const db = await createTestDatabase("postgres");
      cleanups.push(() => db.drop());
      databaseUrl = db.url!;
      env.DATABASE_URL = databaseUrl;
    }
    const [port, stripePort, partnerPort] = [await freePort(), await freePort(), await freePort()];
    Object.assign(env, { PORT: String(port), STRIPE_EMULATOR_PORT: String(stripePort), PARTNER_EMULATOR_PORT: String(partnerPort) });

    // First start: killed once Online Stores spent its one-time credits, while it buys its plan through Checkout.
    const steps: string[] = [];
    const first = spawnServer(env, {
      onLine: (line, child) => {
        if (!line.includes("demo step done")) return;
        const step = (JSON.parse(line) as { step: string }).step;
        steps.push(step);
        if (step === "usage:Online Stores:one-time") child.kill("SIGKILL");
      },
    });
    await expect(first).rejects.toThrow(/server exited/);
    // Steps logged before the kill took effect may follow the third month; the load never completed.
    expect(steps).toContain("usage:Online Stores:one-time");
    expect(steps).not.toContain("complete");

    // Second start: resumes, and only then accepts sign-ins.
    const resumed: string[] = [];
    const client = new Client(`http://127.0.0.1:${port}`);
    const second = spawnServer(env, {
      onLine: (line) => {
        if (line.includes("demo step done")) resumed.push((JSON.parse(line) as { step: string }).step);
      },
    });
    second.then((p) => cleanups.push(() => p.kill()), () => undefined);
    const early = await (async () => {
      for (const until = Date.now() + 60_000; Date.now() < until; ) {
        const r = await client.post("/api/session", { email: "org-admin@demo.test", password: DEMO_PASSWORD }).catch(() => null);
        if (r) return r.status;
        await new Promise((ok) => setTimeout(ok, 20)); // polling a process we do not control
      }
      return null;
    })();
    const server = await second;
    // Before it is complete a sign-in is "try again" (503), never "wrong password".
    expect([503, 200]).toContain(early);
    // Each step was done once: the second start did what the first had not (the directory is read back, not made again).
    expect(resumed.filter((step) => step !== "directory" && steps.includes(step))).toEqual([]);
    console.log(`first start: ${steps.join(", ")}; second start: ${resumed.join(", ")}`);
    expect(new Set([...steps, ...resumed])).toEqual(
      new Set([
        "directory",
        ...["enable", "history:5", "history:4", "history:3", "history:2", "history:1", "buy:one_time", "usage:one-time", "buy:monthly", "usage:monthly"].map((s) => s.replace(/^(\w+)/, "$1:Online Stores")),
        ...["enable", "buy:monthly", "buy:one_time", "usage:monthly"].map((s) => s.replace(/^(\w+)/, "$1:Agency Clients")),
        "complete",
      ]),
    );
    expect(resumed.at(-1)).toBe("complete");
    expect((await client.get("/readyz")).status).toBe(200);
    expect((await client.post("/api/session", { email: "org-admin@demo.test", password: DEMO_PASSWORD })).status).toBe(200);

    await server.kill();

    // The records on both sides once the process is gone (PGlite belongs to one process): the
    // emulators' state files under DATA_DIR, and the database.
    const database = databaseUrl ? await openDatabase({ url: databaseUrl }) : await openDatabase({ dataDir: join(dataDir, "pglite") });
    cleanups.push(() => database.close());
    await expectLedgerConsistent(database);
    await expectDemoStory(database, outsideFromStateFiles(dataDir));
  }, 240_000);
});
