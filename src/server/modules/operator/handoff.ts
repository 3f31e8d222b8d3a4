import { and, eq, lt, sql } from "drizzle-orm";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { Db } from "../../db/client.js";
import { handoffTokens, users } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { createSession } from "../access/access-service.js";

/** A handoff token may be valid for at most this long (credits.md: exp at most 5 minutes ahead). */
export const HANDOFF_MAX_LIFETIME_SECONDS = 300;
const CLOCK_TOLERANCE_SECONDS = 30;

export type HandoffVerifier = (token: string) => Promise<JWTPayload>;

/**
 * Checks a handoff token's signature: HS256 with the shared secret, or RS256 with the platform's
 * published keys (fetched from the JWKS URL and cached by jose). Null when neither is configured.
 */
export function createHandoffVerifier({ secret, jwksUrl }: { secret?: string | undefined; jwksUrl?: string | undefined }): HandoffVerifier | null {
  const options = { clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ["sub", "exp", "jti", "email", "name"] };
  if (jwksUrl) {
    const keys = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 3000 });
    return async (token) => (await jwtVerify(token, keys, { ...options, algorithms: ["RS256"] })).payload;
  }
  if (secret) {
    const key = new TextEncoder().encode(secret);
    return async (token) => (await jwtVerify(token, key, { ...options, algorithms: ["HS256"] })).payload;
  }
  return null;
}

const refused = (message: string) => new AppError("unauthenticated", message);

/** The token's signature and claims, or an AppError saying in plain words why not. */
async function verifyClaims(verify: HandoffVerifier, token: string) {
  let payload: JWTPayload;
  try {
    payload = await verify(token);
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw refused("This sign-in link has expired.");
    throw refused("This sign-in link is not valid.");
  }
  const { sub, jti, exp } = payload;
  if (typeof sub !== "string" || typeof jti !== "string" || jti.length === 0 || jti.length > 255 || typeof exp !== "number") {
    throw refused("This sign-in link is not valid.");
  }
  if (exp > Date.now() / 1000 + HANDOFF_MAX_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    throw refused("This sign-in link is valid for too long (at most 5 minutes).");
  }
  return { sub, jti, exp };
}

/**
 * Sign a platform user in from a handoff token: the token is used up (its jti is stored, so it
 * works once across every API process) and a session is created, in one transaction. An expired,
 * replayed, wrongly signed or unknown-user token creates nothing.
 */
export async function signInWithHandoff({ db, verify, token, ttlHours }: { db: Db; verify: HandoffVerifier; token: string; ttlHours: number }) {
  const claims = await verifyClaims(verify, token);
  return db.transaction(async (tx) => {
    // Used tokens are only needed until they expire; forget the old ones as we go.
    await tx.delete(handoffTokens).where(lt(handoffTokens.expiresAt, sql`now() - interval '1 hour'`));
    const [fresh] = await tx
      .insert(handoffTokens)
      .values({ jti: claims.jti, expiresAt: new Date(claims.exp * 1000) })
      .onConflictDoNothing()
      .returning({ jti: handoffTokens.jti });
    if (!fresh) throw refused("This sign-in link was already used.");
    const [user] = await tx.select({ id: users.id }).from(users).where(and(eq(users.externalId, claims.sub)));
    if (!user) throw refused("This sign-in link is for a user we do not know.");
    return createSession({ db: tx, userId: user.id, ttlHours });
  });
}

/** `next` when it is a path on this site, else "/": never an absolute or protocol-relative URL. */
export function safeNextPath(next: string | undefined): string {
  if (!next || next.length > 2048 || !next.startsWith("/") || next.startsWith("//")) return "/";
  // Browsers read "\" as "/" and drop tabs and newlines, so "/\evil" and "/\t/evil" lead off-site.
  if (next.includes("\\") || [...next].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return "/";
  const base = "http://ours.invalid";
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return "/";
  }
  if (url.origin !== base) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}
