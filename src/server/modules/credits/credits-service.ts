import type { BalanceResponse, GrantBody } from "../../../contracts/usage.js";
import { monthKey } from "../../../domain/periods.js";
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
    grantCredits(query, { kind: "website", websiteId, credits: body.credits, expiresAt, sourceKey: `api:${orgId}:${body.idempotencyKey}`, now: clock() }),
  );
  const same = grant.website_id === websiteId && grant.granted === body.credits && (grant.expires_at?.getTime() ?? null) === (expiresAt?.getTime() ?? null);
  if (!grant.created && !same) throw new AppError("conflict", "This idempotency key was already used with a different request.");
  return { id: String(grant.id), websiteId, credits: grant.granted, expiresAt: grant.expires_at?.toISOString() ?? null };
}

/**
 * Spendable credits of a website and of its group's pool (only while the group's billing is
 * enabled). `available` is what its next event may take: its own credits and, if the website has a
 * pool cap, no more of the pool than the cap leaves this month (as the debit decides); `poolCapLeft`
 * says how much that is (null without a cap).
 */
export async function findWebsiteBalance({ query, clock, orgId, websiteId }: { query: Query; clock: Clock; orgId: string; websiteId: string }): Promise<BalanceResponse> {
  const now = clock();
  const { rows } = await query<{ pool: string | null; cap: number | null; cap_used: number | null }>(
    `select case when bp.group_id is not null then w.group_id end as pool, c.monthly_credits as cap,
            case when c.used_month = $3 then c.used_credits else 0 end as cap_used
       from websites w left join billing_profiles bp on bp.group_id = w.group_id
       left join website_pool_caps c on c.website_id = w.id and c.group_id = w.group_id and bp.group_id is not null
      where w.id = $1 and w.org_id = $2 and w.deleted_at is null`,
    [websiteId, orgId, monthKey(now)],
  );
  const site = rows[0];
  if (!site) throw new AppError("not_found", "Website not found.");
  const b = await findCreditBalances(query, { websiteId, groupId: site.pool, now });
  const website = b.website?.remaining ?? 0;
  const groupMonthly = b.monthly?.remaining ?? 0;
  const groupOneTime = b.oneTime?.remaining ?? 0;
  const poolCapLeft = site.cap === null ? null : Math.max(0, Number(site.cap) - Number(site.cap_used ?? 0));
  const pool = groupMonthly + groupOneTime;
  return { website, groupMonthly, groupOneTime, available: website + (poolCapLeft === null ? pool : Math.min(pool, poolCapLeft)), poolCapLeft };
}
