import type { BalanceResponse, GrantBody } from "../../../contracts/usage.js";
import type { Clock } from "../../clock.js";
import type { Database, Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import { requireOrgWebsite } from "../access/access-service.js";
import { findCreditBalances, grantCredits } from "../ledger/index.js";

/** A website's own credits, granted by its plan or an operator; idempotent per organization and key. */
export async function grantWebsiteCredits({ database, clock, orgId, websiteId, body }: { database: Database; clock: Clock; orgId: string; websiteId: string; body: GrantBody }) {
  await requireOrgWebsite({ db: database.db, orgId, websiteId });
  const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= clock().getTime()) throw new AppError("invalid_request", "expiresAt must be in the future.");
  const grant = await database.transaction((query) =>
    grantCredits(query, { kind: "website", websiteId, credits: body.credits, expiresAt, sourceKey: `api:${orgId}:${body.idempotencyKey}` }),
  );
  const same = grant.website_id === websiteId && grant.granted === body.credits && (grant.expires_at?.getTime() ?? null) === (expiresAt?.getTime() ?? null);
  if (!grant.created && !same) throw new AppError("conflict", "This idempotency key was already used with a different request.");
  return { id: String(grant.id), websiteId, credits: grant.granted, expiresAt: grant.expires_at?.toISOString() ?? null };
}

/** Spendable credits of a website and of its group's pool (only while the group's billing is enabled). */
export async function findWebsiteBalance({ query, clock, orgId, websiteId }: { query: Query; clock: Clock; orgId: string; websiteId: string }): Promise<BalanceResponse> {
  const { rows } = await query<{ pool: string | null }>(
    `select case when bp.group_id is not null then w.group_id end as pool
       from websites w left join billing_profiles bp on bp.group_id = w.group_id
      where w.id = $1 and w.org_id = $2 and w.deleted_at is null`,
    [websiteId, orgId],
  );
  const site = rows[0];
  if (!site) throw new AppError("not_found", "Website not found.");
  const b = await findCreditBalances(query, { websiteId, groupId: site.pool, now: clock() });
  const website = b.website?.remaining ?? 0;
  const groupMonthly = b.monthly?.remaining ?? 0;
  const groupOneTime = b.oneTime?.remaining ?? 0;
  return { website, groupMonthly, groupOneTime, available: website + groupMonthly + groupOneTime };
}
