import { loadConfig } from "./config.js";
import { isDatabaseEmpty, seedDirectory } from "./demo/seed.js";
import { createLogger, openConfiguredDatabase, startServer } from "./server.js";

const config = loadConfig();
const logger = createLogger(config);
const database = await openConfiguredDatabase(config);
const running = await startServer({ config, database, logger });

const wantsDemo = config.DATABASE_URL ? config.DEMO_DATA === "1" : config.DEMO_DATA !== "0";
if (wantsDemo && (await isDatabaseEmpty(database.db))) {
  await seedDirectory(database.db);
  logger.info("demo data loaded");
}
logger.info({ url: running.deps.publicUrl, database: database.kind }, "Group Billing is running");

const shutdown = async () => {
  await running.close();
  await database.close();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
