import { z } from "zod";

const optionalUrl = z.preprocess((v) => (v === "" ? undefined : v), z.string().url().optional());
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const ConfigSchema = z.object({
  PORT: port(3000),
  HOST: z.string().default("0.0.0.0"),
  /** Public address of this server, used in Checkout return urls and the Origin check. */
  PUBLIC_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  DATA_DIR: z.string().default("./data"),
  DEMO_DATA: z.enum(["0", "1"]).optional(),
  /** Default: info for JSON logs, warn for the human format (one "running" line, then only trouble). */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  /** `human` (default): short lines for a person at a terminal; `json`: one JSON object per line for machines. */
  LOG_FORMAT: z.enum(["human", "json"]).default("human"),
  STRIPE_SECRET_KEY: z.preprocess((v) => (v === "" ? undefined : v), z.string().startsWith("sk_").optional()),
  STRIPE_API_BASE: optionalUrl,
  /** Required with a real STRIPE_SECRET_KEY; only the local emulator may use the public default. */
  STRIPE_WEBHOOK_SECRET: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(1).optional()),
  STRIPE_EMULATOR_PORT: port(12111),
  PARTNER_API_BASE: optionalUrl,
  PARTNER_API_KEY: z.string().min(1).default("partner_local_key"),
  PARTNER_EMULATOR_PORT: port(12112),
  PARTNER_PORTAL_URL: optionalUrl,
  /** Token the local emulators' controls (`/_emulator/*`, the dashboard) require; random per run when unset. */
  EMULATOR_CONTROL_TOKEN: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(16).optional()),
  CREDITS_PER_PACKAGE: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  PRICE_ONE_TIME: z.coerce.number().int().min(0).default(1000),
  PRICE_MONTHLY: z.coerce.number().int().min(0).default(800),
  CURRENCY: z.string().length(3).toLowerCase().default("usd"),
  /** 1: alert webhooks may go to loopback and private addresses (local demo, tests); never to link-local or metadata ones. */
  ALLOW_PRIVATE_WEBHOOKS: z.enum(["0", "1"]).default("0"),
  /** First retry delay of a failed alert delivery; it doubles each time (at most an hour), for 25 hours. */
  ALERT_RETRY_BASE_MS: z.coerce.number().int().min(1).default(10_000),
  /** How often each process looks for due alert deliveries and auto top-ups. */
  CONTROLS_POLL_MS: z.coerce.number().int().min(10).default(2_000),
  /** Usage batches of one lane in flight at once on PostgreSQL (usage-processor.ts `depth`). */
  USAGE_LANE_DEPTH: z.coerce.number().int().min(1).max(4).default(2),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).default(24 * 7),
  /** The host platform's key for /api/operator/* and website grants; unset: those answer 404 / 403. */
  OPERATOR_API_KEY: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(16, "use at least 16 characters").optional()),
  /** HS256 secret the platform signs sign-in handoff tokens with. */
  OPERATOR_SIGNING_SECRET: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32, "use at least 32 characters").optional()),
  /** Or: the platform's public keys (RS256); takes precedence over the secret. */
  OPERATOR_JWKS_URL: optionalUrl,
  /**
   * Addresses of the reverse proxies whose X-Forwarded-For names the client (comma-separated IPs).
   * Empty: the client is the socket's peer, and X-Forwarded-For is ignored.
   */
  TRUST_PROXY: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.union([z.ipv4(), z.ipv6()]))),
});

const LOCAL_WEBHOOK_SECRET = "whsec_local_emulator_secret";

const ConfigSchemaChecked = ConfigSchema.superRefine((c, ctx) => {
  if (c.STRIPE_SECRET_KEY && !c.STRIPE_WEBHOOK_SECRET) {
    ctx.addIssue({ code: "custom", path: ["STRIPE_WEBHOOK_SECRET"], message: "is required with STRIPE_SECRET_KEY (webhooks would be checked with a public secret)" });
  }
}).transform((c) => ({ ...c, STRIPE_WEBHOOK_SECRET: c.STRIPE_WEBHOOK_SECRET ?? LOCAL_WEBHOOK_SECRET }));

export type Config = z.infer<typeof ConfigSchemaChecked>;

/** Parse the environment once; fail fast listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchemaChecked.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
