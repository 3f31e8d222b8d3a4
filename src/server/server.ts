import { serve, type ServerType } from "@hono/node-server";
import { mkdirSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type ServerOptions } from "node:http";
import { resolve } from "node:path";
import pino, { type Logger } from "pino";
import { systemClock, type Clock } from "./clock.js";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { runMigrations } from "./db/migrate.js";
import { humanLogStream } from "./human-log.js";
import { createApp } from "./http/app.js";
import type { AppDeps } from "./http/context.js";
import { billingRoutes } from "./http/routes/billing-routes.js";
import { controlsRoutes } from "./http/routes/controls-routes.js";
import { operatorRoutes } from "./http/routes/operator-routes.js";
import { webhookRoutes } from "./http/routes/webhook-routes.js";
import { createPartnerGateway } from "./integrations/partner/index.js";
import { createStripeGateway } from "./integrations/stripe/index.js";
import { createApiKeyVerifier } from "./modules/access/api-key-verifier.js";
import { createBillingService } from "./modules/billing/billing-service.js";
import type { PartnerPort, StripePort } from "./modules/billing/ports.js";
import { startScheduler } from "./modules/billing/scheduler.js";
import { runAutoTopUps } from "./modules/controls/auto-top-up.js";
import { startControlsWorker } from "./modules/controls/controls-worker.js";
import { createWebhookSender } from "./integrations/webhooks/index.js";

export interface StartOptions {
  config: Config;
  /** An already opened database (tests); otherwise opened from the config. */
  database?: Database;
  logger?: Logger;
  /** Now, for expiry, periods and renewals (tests pass one they set); the system clock by default. */
  clock?: Clock;
  /** Run the renewal and expiry sweeper (default true). */
  scheduler?: boolean;
  /** Run the alert delivery and auto top-up loop (default true). */
  controlsWorker?: boolean;
  /** Hold `/readyz` and sign-ins at 503 until `markReady()` (main.ts loads the demo first). Default false. */
  holdReadiness?: boolean;
}

export interface RunningServer {
  url: string;
  deps: AppDeps;
  billing: ReturnType<typeof createBillingService>;
  partnerGateway: PartnerPort;
  /** Startup work is done: `/readyz` may say 200 and sign-ins are accepted. */
  markReady(): void;
  close(): Promise<void>;
}

/** Fields never written to a log, at the top level or one level down (`req.headers.cookie`, `body.key`). */
const SECRET_FIELDS = [
  "authorization",
  "cookie",
  "set-cookie",
  "password",
  "key",
  "apiKey",
  "keyHash",
  "key_hash",
  "token",
  "tokenHash",
  "token_hash",
  "secret",
  "webhookSecret",
  "webhookSigningSecret",
  "stripe-signature",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "PARTNER_API_KEY",
];
export const REDACTED = [
  ...SECRET_FIELDS.map((f) => `["${f}"]`),
  ...SECRET_FIELDS.map((f) => `*["${f}"]`),
  ...["req.headers", "res.headers", "headers", "config"].flatMap((p) => SECRET_FIELDS.map((f) => `${p}["${f}"]`)),
];

/** JSON lines for machines (`LOG_FORMAT=json`), short lines for a person at a terminal otherwise. */
export function createLogger(config: Config, destination?: pino.DestinationStream) {
  const json = config.LOG_FORMAT === "json";
  return pino(
    {
      level: config.LOG_LEVEL ?? (json ? "info" : "warn"),
      base: { svc: "group-billing" },
      redact: { paths: REDACTED, censor: "[redacted]" },
    },
    destination ?? (json ? undefined : humanLogStream()),
  );
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
  const clock = opts.clock ?? systemClock;
  const apiKeys = createApiKeyVerifier({ database, logger });
  const deps: AppDeps = { database, config, logger, clock, publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}`, apiKeys, startup: { ready: !opts.holdReadiness } };
  const stripe: StripePort = createStripeGateway({
    secretKey: config.STRIPE_SECRET_KEY ?? "sk_test_local_emulator",
    apiBase: config.STRIPE_API_BASE ?? (config.STRIPE_SECRET_KEY ? null : `http://127.0.0.1:${config.STRIPE_EMULATOR_PORT}`),
    webhookSecret: config.STRIPE_WEBHOOK_SECRET,
  });
  const partnerBase = config.PARTNER_API_BASE ?? `http://127.0.0.1:${config.PARTNER_EMULATOR_PORT}`;
  const partner: PartnerPort = createPartnerGateway({ apiBase: partnerBase, apiKey: config.PARTNER_API_KEY });
  // deps.publicUrl is settled below once the port is known; the service reads it through the getter.
  const billing = createBillingService({
    database,
    config,
    clock,
    stripe,
    partner,
    logger,
    get publicUrl() {
      return deps.publicUrl;
    },
    partnerPortalUrl: config.PARTNER_PORTAL_URL ?? `${partnerBase}/portal`,
  });
  const { app, usageFastPath } = createApp(deps, [(d) => billingRoutes({ ...d, billing }), controlsRoutes, (d) => webhookRoutes({ ...d, stripe, billing }), (d) => operatorRoutes({ ...d, billing })]);
  const scheduler = opts.scheduler === false ? null : startScheduler({ billing });
  const controlsWorker =
    opts.controlsWorker === false
      ? null
      : startControlsWorker({
          database,
          logger,
          sender: createWebhookSender({ allowPrivate: config.ALLOW_PRIVATE_WEBHOOKS === "1" }),
          retryBaseMs: config.ALERT_RETRY_BASE_MS,
          pollMs: config.CONTROLS_POLL_MS,
          extraWork: () => runAutoTopUps({ database, config, stripe, partner, clock }),
        });
  const server: ServerType = await new Promise((ok) => {
    // Single usage events are answered on Node's request before the app (usage-fast-path.ts).
    const createServer = ((options: ServerOptions, listener: RequestListener) => {
      const fast = usageFastPath(listener);
      return createHttpServer(options, (req, res) => fast(req, res) || listener(req, res));
    }) as typeof createHttpServer;
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST, createServer }, () => ok(s));
  });
  // Idle keep-alive connections stay open longer than any client's or proxy's idle timeout (Node's
  // default is 5 s, under fetch's ~4 s reuse window): otherwise a client that reuses a pooled
  // connection just as the server closes it gets ECONNRESET on a perfectly good request.
  const http = server as import("node:http").Server;
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.PORT;
  const url = `http://127.0.0.1:${port}`;
  if (!config.PUBLIC_URL) deps.publicUrl = `http://localhost:${port}`;
  return {
    url,
    deps,
    billing,
    partnerGateway: partner,
    markReady: () => {
      deps.startup!.ready = true;
    },
    close: async () => {
      await scheduler?.stop();
      await controlsWorker?.stop();
      (server as import("node:http").Server).closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await apiKeys.close();
      if (!opts.database) await database.close();
    },
  };
}

