import { serve, type ServerType } from "@hono/node-server";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import pino, { type Logger } from "pino";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { createApp } from "./http/app.js";
import type { AppDeps } from "./http/context.js";

export interface StartOptions {
  config: Config;
  /** An already opened database (tests); otherwise opened from the config. */
  database?: Database;
  logger?: Logger;
}

export interface RunningServer {
  url: string;
  deps: AppDeps;
  close(): Promise<void>;
}

export function createLogger(config: Config) {
  return pino({
    level: config.LOG_LEVEL,
    base: { svc: "group-billing" },
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "password", "key", "*.password", "*.key"], censor: "[redacted]" },
  });
}

export async function openConfiguredDatabase(config: Config): Promise<Database> {
  if (config.DATABASE_URL) return openDatabase({ url: config.DATABASE_URL });
  const dir = resolve(config.DATA_DIR, "pglite");
  mkdirSync(dir, { recursive: true });
  return openDatabase({ dataDir: dir });
}

/** Open the database, migrate, and serve the app. Emulators and demo data are the caller's (main.ts, tests). */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config);
  const database = opts.database ?? (await openConfiguredDatabase(config));
  await runMigrations(database);
  const deps: AppDeps = { database, config, logger, publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}` };
  const app = createApp(deps);
  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => ok(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  const url = `http://127.0.0.1:${port}`;
  if (!config.PUBLIC_URL) deps.publicUrl = `http://localhost:${port}`;
  return {
    url,
    deps,
    close: async () => {
      await new Promise<void>((ok) => server.close(() => ok()));
      if (!opts.database) await database.close();
    },
  };
}

export const dataPath = (config: Config, name: string) => join(resolve(config.DATA_DIR), name);
