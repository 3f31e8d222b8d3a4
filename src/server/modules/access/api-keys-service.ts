import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { ApiKey } from "../../../contracts/api-keys.js";
import type { DbOrTx } from "../../db/client.js";
import { apiKeys } from "../../db/schema.js";
import { notFound } from "../../errors.js";

/** The organization's keys that still work, newest first; never the key or its hash. */
export async function listApiKeys({ db, orgId }: { db: DbOrTx; orgId: string }): Promise<ApiKey[]> {
  const rows = await db
    .select({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  // lastUsedAt is coarse: the key verifier writes it at most every few minutes per key.
  return rows.map((row) => ({ ...row, createdAt: row.createdAt.toISOString(), lastUsedAt: row.lastUsedAt?.toISOString() ?? null }));
}

/**
 * Marks a key of the organization revoked. Revoking it again changes nothing; a key of another
 * organization is not found (its existence is not revealed).
 */
export async function revokeApiKey({ db, orgId, keyId }: { db: DbOrTx; orgId: string; keyId: string }) {
  const [row] = await db
    .select({ id: apiKeys.id, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.orgId, orgId)));
  if (!row) throw notFound("API key");
  if (row.revokedAt) return;
  await db.update(apiKeys).set({ revokedAt: sql`now()` }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
}
