import { startPartnerEmulator, type PartnerEmulator } from "../../../src/emulators/partner/index.js";
import { pressHostedButton } from "../../../src/emulators/shared/test-support.js";
import { signWebhookPayload, startStripeEmulator, type StripeEmulator } from "../../../src/emulators/stripe/index.js";
import type { Database } from "../../../src/server/db/client.js";
import { createTestDatabase } from "../../support/database.js";
import { spawnServer, type ServerProcess } from "../../support/process.js";

export const WEBHOOK_SECRET = "whsec_chaos_secret";
export const PARTNER_KEY = "partner_chaos_key";

/** One PostgreSQL database, the Stripe and partner emulators in this process, API processes on demand. */
export interface ChaosEnv {
  database: Database;
  url: string;
  stripe: StripeEmulator;
  partner: PartnerEmulator;
  serverEnv: Record<string, string>;
  spawn(): Promise<ServerProcess>;
  close(): Promise<void>;
}

export async function createChaosEnv(): Promise<ChaosEnv> {
  const db = await createTestDatabase("postgres");
  const stripe = await startStripeEmulator({ port: 0, dataDir: null, webhookUrl: null, webhookSecret: WEBHOOK_SECRET });
  const partner = await startPartnerEmulator({ port: 0, dataDir: null, apiKey: PARTNER_KEY });
  const serverEnv = {
    DATABASE_URL: db.url!,
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PARTNER_API_BASE: partner.url,
    PARTNER_API_KEY: PARTNER_KEY,
  };
  return {
    database: db.database,
    url: db.url!,
    stripe,
    partner,
    serverEnv,
    spawn: async () => {
      const p = await spawnServer(serverEnv);
      // Error lines of the API processes go to stderr: a 5xx should come with its cause.
      let shown = 0;
      p.child.stdout!.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\n")) if (line.includes('"level":50') && shown++ < 5) process.stderr.write(`[api ${p.url}] ${(line.match(/src\/server\/[^)]+/g) ?? []).join(" <- ") || line.slice(0, 300)}\n`);
      });
      return p;
    },
    close: async () => {
      await stripe.close();
      await partner.close();
      await db.drop();
    },
  };
}

/** The tests' JSON client (status and parsed body, a cookie jar of one cookie). */
export { Client as Http } from "../../support/http.js";

/** Press "Pay" on the emulator's hosted Checkout page. */
export async function payCheckout(checkoutUrl: string) {
  const res = await pressHostedButton({ pageUrl: checkoutUrl, button: "Pay" });
  if (res.status !== 303) throw new Error(`Pay answered ${res.status}`);
}

export async function postSignedWebhook(base: string, payload: string) {
  const res = await fetch(`${base}/api/webhooks/stripe`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", "stripe-signature": signWebhookPayload({ payload, secret: WEBHOOK_SECRET }) },
    signal: AbortSignal.timeout(30_000),
  });
  await res.body?.cancel();
  return res.status;
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number) {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Prints `name: figure` and remembers guarantees that failed. */
export class Report {
  failures: string[] = [];
  figure(name: string, value: number | string) {
    console.log(`${name}: ${value}`);
  }
  /** A figure that is a guarantee: it must equal `expected`. */
  must(name: string, value: number, expected: number | ((v: number) => boolean), why = "") {
    this.figure(name, value);
    const ok = typeof expected === "function" ? expected(value) : value === expected;
    if (!ok) this.failures.push(`${name} = ${value}${typeof expected === "number" ? `, expected ${expected}` : ""}${why ? ` (${why})` : ""}`);
  }
}
