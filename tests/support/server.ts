import { startPartnerEmulator, type PartnerEmulator } from "../../src/emulators/partner/index.js";
import { startStripeEmulator, type StripeEmulator } from "../../src/emulators/stripe/index.js";
import { loadConfig, type Config } from "../../src/server/config.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { createTestClock, type TestClock } from "./clock.js";
import { Client } from "./http.js";
import { createTestDatabase } from "./database.js";
import { OPERATOR_KEY, spawnServer, type ServerProcess } from "./process.js";

export { OPERATOR_KEY };

export const WEBHOOK_SECRET = "whsec_test_secret";
export const PARTNER_KEY = "partner_test_key";

export interface TestServer extends RunningServer {
  db: RunningServer["deps"]["database"]["db"];
  databaseUrl: string | null;
  stripe: StripeEmulator;
  partner: PartnerEmulator;
  config: Config;
  /** The server's clock: the wall clock until a test sets it. */
  clock: TestClock;
  client(headers?: Record<string, string>): Client;
}

/**
 * The real server on a free port with a fresh database of the kind TEST_DB names, and its own
 * Stripe and partner emulators (in memory) as the outside world.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const testDb = await createTestDatabase();
  const stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: WEBHOOK_SECRET });
  const partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: PARTNER_KEY });
  const config: Config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    DATA_DIR: "/tmp/gb-test-unused",
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PARTNER_API_BASE: partner.url,
    PARTNER_API_KEY: PARTNER_KEY,
    OPERATOR_API_KEY: OPERATOR_KEY,
    ...env,
  });
  const clock = createTestClock();
  const running = await startServer({ config, database: testDb.database, scheduler: false, clock });
  stripe.setWebhookUrl(`${running.url}/api/webhooks/stripe`);
  return {
    ...running,
    config,
    clock,
    stripe,
    partner,
    db: testDb.database.db,
    databaseUrl: testDb.url,
    client: (headers) => new Client(running.url, headers),
    close: async () => {
      await running.close();
      await stripe.close();
      await partner.close();
      await testDb.drop();
    },
  };
}

/** Poll until `check` holds (webhooks are delivered asynchronously). */
export async function eventually<T>(check: () => Promise<T | false | null | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ""}`);
}

/**
 * A second API process (`main.ts` in its own OS process) on this test server's database and emulators,
 * for races between processes. PostgreSQL only: embedded PGlite belongs to one process.
 */
export function spawnPeer(server: TestServer, env: Record<string, string> = {}): Promise<ServerProcess> {
  if (!server.databaseUrl) throw new Error("spawnPeer needs a PostgreSQL test database");
  return spawnServer({
    ...env,
    DATABASE_URL: server.databaseUrl,
    STRIPE_API_BASE: server.stripe.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PARTNER_API_BASE: server.partner.url,
    PARTNER_API_KEY: PARTNER_KEY,
  });
}
