import { availableParallelism } from "node:os";
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Membership, User } from "../../../contracts/session.js";
import type { Clock } from "../../clock.js";
import type { DbOrTx } from "../../db/client.js";
import { apiKeys, groups, membershipGroups, memberships, sessions, users, websites } from "../../db/schema.js";
import { AppError, forbidden, notFound } from "../../errors.js";
import { createHashingQueue } from "./hashing-queue.js";
import { DUMMY_HASH, verifyPassword } from "./passwords.js";
import { isTrustedDevice, issueDeviceToken } from "./device-cookie.js";
import { clearFailures, forgetAttempt, limitWaits, recordAttempt, secondsUntilAllowed, throttleKey, waitsAfterFailure, WINDOW_MINUTES } from "./sign-in-throttle.js";
import { newToken, sha256 } from "./tokens.js";

export interface Principal {
  user: User;
  memberships: Membership[];
}

/**
 * One per process: sign-ins (their queries and the password check) share this process's CPU and
 * database pool, a few at a time (half the cores: a flood must leave CPU for everything else).
 * Addresses that failed here recently wait behind the others: that memory only orders the queue;
 * who is throttled is decided in the database.
 */
const signIns = createHashingQueue({ concurrency: Math.max(1, Math.floor(availableParallelism() / 2)) });
const recentFailures = new Map<string, number>();
const failedRecently = (address: string) => Date.now() - (recentFailures.get(address) ?? -Infinity) < WINDOW_MINUTES * 60_000;
function rememberFailure(address: string) {
  if (recentFailures.size >= 100_000) recentFailures.clear();
  recentFailures.set(address, Date.now());
}

/**
 * What the database last told this process about a client that is being refused: until when (on
 * the server's clock) its address, or its (address, account) pair, waits. Attempts before then are
 * answered 429 here, before any query or place in the queue, so a flood is refused at the cost of
 * a map lookup. Each process learns this from its own attempts; the database stays the rule.
 */
const refusedUntil = new Map<string, number>();
const addressKey = (address: string) => `a\u0000${address}`;
const pairKey = (address: string, email: string) => `p\u0000${address}\u0000${email}`;
function refuseFor(key: string, seconds: number, now: number) {
  if (seconds <= 0) return;
  if (refusedUntil.size >= 100_000) refusedUntil.clear();
  refusedUntil.set(key, now + seconds * 1000);
}
function secondsRefused(key: string, now: number) {
  const until = refusedUntil.get(key);
  if (until === undefined) return 0;
  if (until <= now) refusedUntil.delete(key);
  return Math.ceil((until - now) / 1000);
}
const rateLimited = (wait: number) => new AppError("rate_limited", `Too many failed sign-in attempts. Try again in ${wait} seconds.`, { retryAfterSeconds: wait });

interface LoginArgs {
  db: DbOrTx;
  email: string;
  password: string;
  ttlHours: number;
  /** The client's address (client-address.ts); throttled by its throttleKey (an IPv6 /64). */
  clientAddress: string;
  /** The browser's device cookie, if it sent one (device-cookie.ts). */
  deviceToken?: string;
  clock: Clock;
}

/**
 * Sign in. Throttled by client address and account (see sign-in-throttle.ts): a refused attempt
 * is `rate_limited` with a Retry-After and no password check. A browser that signed in to this
 * account before (device cookie) goes first in the queue. Answers a new device token with the session.
 */
export async function login(args: LoginArgs) {
  const email = args.email.trim().toLowerCase();
  const address = throttleKey(args.clientAddress);
  const now = args.clock();
  const wait = Math.max(secondsRefused(addressKey(address), now.getTime()), secondsRefused(pairKey(address, email), now.getTime()));
  if (wait > 0) throw rateLimited(wait);
  const trusted = !!args.deviceToken && (await isTrustedDevice({ db: args.db, email, token: args.deviceToken, now }));
  if (trusted) return signIns.run(() => attemptSignIn({ ...args, email, clientAddress: address }), { lane: "trusted" });
  // One sign-in at a time per address (a person does not sign in twice at once): a flood from a
  // few addresses holds a few places in the queue, not hundreds.
  if (inFlight.has(address)) throw new AppError("rate_limited", "A sign-in from this address is already in progress.", { retryAfterSeconds: 1 });
  inFlight.add(address);
  try {
    return await signIns.run(() => attemptSignIn({ ...args, email, clientAddress: address }), { lane: failedRecently(address) ? "suspect" : "clean" });
  } finally {
    inFlight.delete(address);
  }
}
const inFlight = new Set<string>();

async function attemptSignIn({ db, email, password, ttlHours, clientAddress, clock }: LoginArgs) {
  const now = clock();
  const { id, failures } = await recordAttempt({ db, email, clientAddress, now });
  const wait = secondsUntilAllowed(failures);
  if (wait > 0) {
    rememberFailure(clientAddress);
    const waits = limitWaits(failures);
    refuseFor(pairKey(clientAddress, email), waits.pair, now.getTime());
    refuseFor(addressKey(clientAddress), waits.address, now.getTime());
    await forgetAttempt({ db, id });
    throw rateLimited(wait);
  }
  const [user] = await db.select().from(users).where(eq(users.email, email));
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  if (!ok || !user) {
    rememberFailure(clientAddress);
    const waits = waitsAfterFailure(failures);
    refuseFor(pairKey(clientAddress, email), waits.pair, now.getTime());
    refuseFor(addressKey(clientAddress), waits.address, now.getTime());
    throw new AppError("unauthenticated", "Invalid email or password.");
  }
  await clearFailures({ db, email, clientAddress });
  const { token } = await createSession({ db, userId: user.id, ttlHours });
  const deviceToken = issueDeviceToken({ email, passwordHash: user.passwordHash!, now });
  return { token, deviceToken, user: { id: user.id, email: user.email, name: user.name } };
}

/** A new session for a user who proved who they are (password, or the platform's handoff token). */
export async function createSession({ db, userId, ttlHours }: { db: DbOrTx; userId: string; ttlHours: number }) {
  const token = newToken("gbs_");
  await db.insert(sessions).values({ tokenHash: sha256(token), userId, expiresAt: new Date(Date.now() + ttlHours * 3600_000) });
  return { token };
}

export async function logout({ db, token }: { db: DbOrTx; token: string }) {
  await db.delete(sessions).where(eq(sessions.tokenHash, sha256(token)));
}

export async function findPrincipalBySession({ db, token }: { db: DbOrTx; token: string }): Promise<Principal | null> {
  const [row] = await db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, sha256(token)), gt(sessions.expiresAt, sql`now()`)));
  if (!row) return null;
  return { user: row, memberships: await findMemberships({ db, userId: row.id }) };
}

async function findMemberships({ db, userId }: { db: DbOrTx; userId: string }): Promise<Membership[]> {
  const rows = await db
    .select({
      orgId: memberships.orgId,
      role: memberships.role,
      groupIds: sql<string[]>`coalesce(array_agg(${membershipGroups.groupId}::text) filter (where ${membershipGroups.groupId} is not null), '{}')`,
    })
    .from(memberships)
    .leftJoin(membershipGroups, eq(membershipGroups.membershipId, memberships.id))
    .where(eq(memberships.userId, userId))
    .groupBy(memberships.orgId, memberships.role);
  return rows.map((r) => (r.role === "group_admin" ? r : { orgId: r.orgId, role: r.role }));
}

const membershipIn = (p: Principal, orgId: string) => p.memberships.find((m) => m.orgId === orgId);

/** Any role in the organization; otherwise the organization does not exist for this user. */
export function requireOrgMember(p: Principal, orgId: string) {
  const m = membershipIn(p, orgId);
  if (!m) throw notFound("Organization");
  return m;
}

export function requireOrgAdmin(p: Principal, orgId: string) {
  const m = requireOrgMember(p, orgId);
  if (m.role !== "org_admin") throw forbidden("Only organization admins can do this.");
}

/** Org admins manage every group of the org; group admins the groups named in their membership. */
export function canAdminGroup(p: Principal, orgId: string, groupId: string) {
  const m = membershipIn(p, orgId);
  return !!m && (m.role === "org_admin" || (m.role === "group_admin" && (m.groupIds ?? []).includes(groupId)));
}

/** Load a group the user may administer: another org's group is 404, a non-admin gets 403. */
export async function requireGroupAdmin({ db, principal, groupId }: { db: DbOrTx; principal: Principal; groupId: string }) {
  const [group] = await db.select().from(groups).where(and(eq(groups.id, groupId), isNull(groups.deletedAt)));
  if (!group || !membershipIn(principal, group.orgId)) throw notFound("Group");
  if (!canAdminGroup(principal, group.orgId, group.id)) {
    throw forbidden("Billing is available to organization and group admins only.");
  }
  return group;
}

export async function createApiKey({ db, orgId, name }: { db: DbOrTx; orgId: string; name: string }) {
  const key = newToken("gbk_");
  const [row] = await db
    .insert(apiKeys)
    .values({ orgId, name, keyHash: sha256(key), prefix: key.slice(0, 8) })
    .returning({ id: apiKeys.id, name: apiKeys.name });
  return { id: row!.id, name: row!.name, key };
}

/** A website of the key's organization, or 404 (never reveal another org's website). */
export async function requireOrgWebsite({ db, orgId, websiteId }: { db: DbOrTx; orgId: string; websiteId: string }) {
  const [site] = await db.select().from(websites).where(and(eq(websites.id, websiteId), eq(websites.orgId, orgId), isNull(websites.deletedAt)));
  if (!site) throw notFound("Website");
  return site;
}
