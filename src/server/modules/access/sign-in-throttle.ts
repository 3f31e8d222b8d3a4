import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts } from "../../db/schema.js";

/**
 * Sign-in limits (OWASP authentication guidance), counting failed checks only and kept in the
 * database so every process sees the same counts:
 * - per (client address, account): FREE_FAILURES guesses, then a delay since the last failure
 *   that doubles with each further failure (1 s, 2 s, 4 s ... at most MAX_DELAY_SECONDS);
 * - per client address, across accounts: at most ADDRESS_MAX_FAILURES in the window (spraying);
 * - the CPU: password checks go through the bounded hashing queue.
 * No limit is per account alone, so another client's guesses never lock a user out.
 */
export const WINDOW_MINUTES = 15;
export const FREE_FAILURES = 5;
export const MAX_DELAY_SECONDS = 15 * 60;
export const ADDRESS_MAX_FAILURES = 100;

export interface RecentFailures {
  /** Failed checks of this account from this address in the window (this attempt excluded). */
  pair: number;
  /** Seconds since the latest of them (null: none). */
  pairLastAgeSeconds: number | null;
  /** Failed checks from this address in the window, any account. */
  address: number;
  /** Seconds since the oldest of them (null: none). */
  addressOldestAgeSeconds: number | null;
}

/** Seconds the client must still wait, or 0 to check the password now. */
export function secondsUntilAllowed(f: RecentFailures): number {
  const { pair, address } = limitWaits(f);
  const wait = Math.max(pair, address);
  return wait > 0 ? Math.ceil(wait) : 0;
}

/** The two limits' waits in seconds (<= 0: that limit allows the attempt). */
export function limitWaits(f: RecentFailures) {
  let pair = 0;
  let address = 0;
  if (f.pair >= FREE_FAILURES && f.pairLastAgeSeconds !== null) pair = Math.min(MAX_DELAY_SECONDS, 2 ** (f.pair - FREE_FAILURES)) - f.pairLastAgeSeconds;
  if (f.address >= ADDRESS_MAX_FAILURES && f.addressOldestAgeSeconds !== null) address = WINDOW_MINUTES * 60 - f.addressOldestAgeSeconds;
  return { pair, address };
}

/**
 * When the next attempt of this (address, account) and of this address may come, in seconds from
 * now, once the attempt these failures were read for has failed too (0: at once). The database
 * would say the same on the next attempt; a process keeps it in memory so a client that is being
 * refused is answered 429 without a query or a place in the hashing queue.
 */
export function waitsAfterFailure(f: RecentFailures) {
  return limitWaits({
    pair: f.pair + 1,
    pairLastAgeSeconds: 0,
    address: f.address + 1,
    addressOldestAgeSeconds: f.addressOldestAgeSeconds ?? 0,
  });
}

/**
 * The key an address is throttled under: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's network: an attacker rotating addresses inside it shares one bucket).
 */
export function throttleKey(address: string): string {
  if (!address.includes(":")) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

/** The 8 groups of an IPv6 address, without leading zeros (null when it is not one). */
function expandIpv6(address: string): string[] | null {
  let text = address.toLowerCase().split("%")[0]!;
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const b = v4.slice(2).map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${v4[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(Math.max(0, missing)).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.replace(/^0+(?=.)/, ""));
}

/**
 * Record an attempt at `now` (the server's clock; as failed until it succeeds) and read the recent failures around it. The
 * row goes in before counting, so a concurrent burst sees itself: the n-th parallel guess counts
 * the n-1 before it.
 */
export async function recordAttempt({ db, email, clientAddress, now }: { db: DbOrTx; email: string; clientAddress: string; now: Date }) {
  const [attempt] = await db.insert(loginAttempts).values({ email, clientAddress, succeeded: false, createdAt: now }).returning({ id: loginAttempts.id });
  const id = attempt!.id;
  // Ages are measured from the server's clock (the same instant the attempt is stamped with), so
  // tests set time exactly and every process agrees on the rule.
  const at = sql`${now.toISOString()}::timestamptz`;
  const [row] = await db
    .select({
      pair: sql<number>`count(*) filter (where ${loginAttempts.email} = ${email})::int`,
      pairLastAgeSeconds: sql<number | null>`extract(epoch from ${at} - max(${loginAttempts.createdAt}) filter (where ${loginAttempts.email} = ${email}))::float8`,
      address: sql<number>`count(*)::int`,
      addressOldestAgeSeconds: sql<number | null>`extract(epoch from ${at} - min(${loginAttempts.createdAt}))::float8`,
    })
    .from(loginAttempts)
    .where(
      and(
        eq(loginAttempts.clientAddress, clientAddress),
        eq(loginAttempts.succeeded, false),
        sql`${loginAttempts.createdAt} > ${at} - make_interval(mins => ${WINDOW_MINUTES})`,
        sql`${loginAttempts.id} <> ${id}`,
      ),
    );
  const failures: RecentFailures = {
    pair: row?.pair ?? 0,
    pairLastAgeSeconds: row?.pairLastAgeSeconds ?? null,
    address: row?.address ?? 0,
    addressOldestAgeSeconds: row?.addressOldestAgeSeconds ?? null,
  };
  return { id, failures };
}

/** A refused attempt does not count (refusals never extend a delay). */
export async function forgetAttempt({ db, id }: { db: DbOrTx; id: number }) {
  await db.delete(loginAttempts).where(eq(loginAttempts.id, id));
}

/** A success clears this address's failures for the account (a user who mistyped starts afresh). */
export async function clearFailures({ db, email, clientAddress }: { db: DbOrTx; email: string; clientAddress: string }) {
  await db.delete(loginAttempts).where(and(eq(loginAttempts.email, email), eq(loginAttempts.clientAddress, clientAddress)));
}
