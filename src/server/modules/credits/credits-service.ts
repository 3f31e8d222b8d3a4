import type { BalanceResponse, GrantBody } from "../../../contracts/usage.js";
import type { Database, Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import { requireOrgWebsite } from "../access/access-service.js";
import { insertGrant } from "./grants-repo.js";

/** A website's own credits, granted by its plan or an operator; idempotent per organization and key. */
export async function grantWebsiteCredits({ database, orgId, websiteId, body }: { database: Database; orgId: string; websiteId: string; body: GrantBody }) {
  await requireOrgWebsite({ db: database.db, orgId, websiteId });
  const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) throw new AppError("invalid_request", "expiresAt must be in the future.");
  const grant = await database.transaction((query) =>
    insertGrant(query, { kind: "website", websiteId, credits: body.credits, expiresAt, sourceKey: `api:${orgId}:${body.idempotencyKey}` }),
  );
  const [row] = (
    await database.query<{ website_id: string }>("select website_id from credit_grants where id = $1", [grant.id])
  ).rows;
  const same = row?.website_id === websiteId && grant.granted === body.credits && (grant.expires_at?.getTime() ?? null) === (expiresAt?.getTime() ?? null);
  if (!grant.created && !same) throw new AppError("conflict", "This idempotency key was already used with a different request.");
  return { id: String(grant.id), websiteId, credits: grant.granted, expiresAt: grant.expires_at?.toISOString() ?? null };
}

/** Spendable credits of a website and of its group's pool (only while the group's billing is enabled). */
export async function findWebsiteBalance({ query, orgId, websiteId }: { query: Query; orgId: string; websiteId: string }): Promise<BalanceResponse> {
  const { rows } = await query<{ found: boolean; website: number; monthly: number; one_time: number }>(
    `with site as (
       select w.id, case when bp.group_id is not null then w.group_id end as pool
         from websites w left join billing_profiles bp on bp.group_id = w.group_id
        where w.id = $1 and w.org_id = $2 and w.deleted_at is null
     )
     select true as found,
            coalesce(sum(g.remaining) filter (where g.kind = 'website'), 0)::bigint as website,
            coalesce(sum(g.remaining) filter (where g.kind = 'monthly'), 0)::bigint as monthly,
            coalesce(sum(g.remaining) filter (where g.kind = 'one_time'), 0)::bigint as one_time
       from site
       left join credit_grants g
         on g.remaining > 0 and (g.expires_at is null or g.expires_at > now())
        and (g.website_id = site.id or g.group_id = site.pool)
      group by site.id`,
    [websiteId, orgId],
  );
  const r = rows[0];
  if (!r) throw new AppError("not_found", "Website not found.");
  const website = Number(r.website);
  const groupMonthly = Number(r.monthly);
  const groupOneTime = Number(r.one_time);
  return { website, groupMonthly, groupOneTime, available: website + groupMonthly + groupOneTime };
}
