import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { startPartnerEmulator } from "../emulators/partner/index.js";
import { newControlToken } from "../emulators/shared/control-token.js";
import { startStripeEmulator } from "../emulators/stripe/index.js";
import { loadConfig } from "./config.js";
import { seedDemoData } from "./demo/seed-billing.js";
import { isDemoUnfinished } from "./demo/seed.js";
import { findDemoSignIn } from "./demo/demo-sign-in.js";
import { createLogger, openConfiguredDatabase, startServer } from "./server.js";

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    // A configuration mistake is the operator's to fix: its list of bad variables, not our stack.
    console.error((err as Error).message);
    process.exit(1);
  }
})();
const logger = createLogger(config);
const dataDir = resolve(config.DATA_DIR);
mkdirSync(dataDir, { recursive: true });

// Offline by default: local Stripe and partner emulators unless real ones are configured.
// Their controls (faults, test-clock advances, the dashboard) need this per-run token.
const emulatorControlToken = config.EMULATOR_CONTROL_TOKEN ?? newControlToken();
const stripeEmulator =
  config.STRIPE_SECRET_KEY || config.STRIPE_API_BASE
    ? null
    : await startStripeEmulator({
        port: config.STRIPE_EMULATOR_PORT,
        dataDir,
        webhookUrl: null, // set below, once the server's port is known
        webhookSecret: config.STRIPE_WEBHOOK_SECRET,
        controlToken: emulatorControlToken,
      });
const partnerEmulator = config.PARTNER_API_BASE
  ? null
  : await startPartnerEmulator({ port: config.PARTNER_EMULATOR_PORT, dataDir, apiKey: config.PARTNER_API_KEY, controlToken: emulatorControlToken });

const database = await openConfiguredDatabase(config);
const running = await startServer({ config, database, logger, holdReadiness: true });
stripeEmulator?.setWebhookUrl(`${running.url}/api/webhooks/stripe`);

const wantsDemo = config.DATABASE_URL ? config.DEMO_DATA === "1" : config.DEMO_DATA !== "0";
// An empty database gets the demo; a demo load that was interrupted (a crash, a Stripe outage) is finished.
if (wantsDemo && (await isDemoUnfinished(database.db))) {
  await seedDemoData({ database, billing: running.billing, stripeEmulator, onStep: (step) => logger.info({ step }, "demo step done") });
  logger.info("demo data loaded");
}
// The login page lists the demo's accounts while they exist in this database.
running.deps.demo = await findDemoSignIn(database.db);
// Only now may /readyz say 200 and sign-ins be accepted.
running.markReady();

const ready = {
  url: running.deps.publicUrl,
  database: database.kind,
  stripeEmulator: stripeEmulator?.url ?? null,
  partnerEmulator: partnerEmulator?.url ?? null,
  ...(stripeEmulator || partnerEmulator ? { emulatorControlToken } : {}),
  ...(stripeEmulator ? { stripeEmulatorDashboard: stripeEmulator.dashboardUrl } : {}),
};
if (config.LOG_FORMAT === "json") {
  logger.info(ready, "Group Billing is running");
} else {
  // One line for the person who typed `npm start`: where to go and how to get in.
  const demo = running.deps.demo;
  const signIn = demo ? ` — sign in as ${demo.accounts[0]?.email ?? ""} with password ${demo.password}` : "";
  const dashboard = stripeEmulator ? ` (Stripe emulator: ${stripeEmulator.dashboardUrl})` : "";
  process.stdout.write(`Group Billing is running on ${ready.url}${signIn}${dashboard}\n`);
}

const shutdown = async () => {
  await running.close();
  await database.close();
  await stripeEmulator?.close();
  await partnerEmulator?.close();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
