import { createHmac, timingSafeEqual } from "node:crypto";
import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema.js";

/**
 * Device cookies (OWASP, "slow brute-force protection"): a browser that signed in to an account
 * gets a token naming the account, signed with a key derived from the account's password hash.
 * Holding one puts a later sign-in to that account ahead of every client without one, so a flood
 * of guesses from many fresh addresses (a botnet) cannot keep a returning user out. Nothing to
 * store: any process can check a token, and a password change invalidates every token.
 */
export const DEVICE_COOKIE = "gb_device";
export const DEVICE_TTL_SECONDS = 30 * 24 * 3600;

const sign = (passwordHash: string, email: string, issued: number) =>
  createHmac("sha256", passwordHash).update(`device\u0000${email}\u0000${issued}`).digest();

export function issueDeviceToken({ email, passwordHash, now }: { email: string; passwordHash: string; now: Date }) {
  const issued = Math.floor(now.getTime() / 1000);
  return `${Buffer.from(email).toString("base64url")}.${issued}.${sign(passwordHash, email, issued).toString("base64url")}`;
}

/** Password hashes by email for checking tokens, briefly (a flood of forged tokens costs one query per account a minute). */
const hashes = new Map<string, { hash: string | null; at: number }>();
const MAX_LOOKUPS = 4;
let lookups = 0;

/** Whether `token` is a live device token of `email` (normalized). */
export async function isTrustedDevice({ db, email, token, now }: { db: DbOrTx; email: string; token: string | undefined; now: Date }) {
  const [owner, issuedText, mac] = token?.split(".") ?? [];
  if (!owner || !issuedText || !mac || Buffer.from(owner, "base64url").toString() !== email) return false;
  const issued = Number(issuedText);
  const age = now.getTime() / 1000 - issued;
  if (!Number.isSafeInteger(issued) || age < -60 || age > DEVICE_TTL_SECONDS) return false;
  let cached = hashes.get(email);
  if (!cached || now.getTime() - cached.at > 60_000 || now.getTime() < cached.at) {
    // Forged tokens for many emails must not flood the database: a few look-ups at a time, the
    // rest count as no token (their sign-in still happens, in the ordinary lanes).
    if (lookups >= MAX_LOOKUPS) return false;
    lookups++;
    try {
      const [user] = await db.select({ hash: users.passwordHash }).from(users).where(eq(users.email, email));
      if (hashes.size >= 10_000) hashes.clear();
      hashes.set(email, (cached = { hash: user?.hash ?? null, at: now.getTime() }));
    } finally {
      lookups--;
    }
  }
  if (!cached.hash) return false;
  const given = Buffer.from(mac, "base64url");
  const expected = sign(cached.hash, email, issued);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
