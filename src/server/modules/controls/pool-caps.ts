import type { PoolCap, PoolCapsResponse } from "../../../contracts/controls.js";
import { monthKey } from "../../../domain/periods.js";
import type { Database, Query } from "../../db/client.js";
import { notFound } from "../../errors.js";
import { holdPoolForSetting } from "../ledger/index.js";

/** Pool credits the website drew in its group this calendar month, from the ledger. */
async function poolDrawnThisMonth(query: Query, { websiteId, groupId, now }: { websiteId: string; groupId: string; now: Date }) {
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const { rows } = await query<{ used: number }>(
    `select coalesce(-sum(l.amount), 0)::bigint as used
       from ledger_entries l
       join usage_events e on e.id = l.usage_event_id
       join credit_grants g on g.id = l.grant_id
      where l.kind = 'debit' and e.website_id = $1 and g.group_id = $2 and l.created_at >= $3`,
    [websiteId, groupId, monthStart],
  );
  return Number(rows[0]?.used ?? 0);
}

/**
 * PUT .../websites/{websiteId}/pool-cap: set (or, with null, clear) the most pool credits the
 * website may draw per calendar month. The pool is held first (`holdPoolForSetting`): the month's
 * use counted from the ledger misses no debit running at the same moment, and a debit planned
 * before the cap is planned again against it.
 */
export async function setPoolCap({ database, groupId, websiteId, monthlyCredits, now }: { database: Database; groupId: string; websiteId: string; monthlyCredits: number | null; now: Date }): Promise<PoolCap> {
  return database.transaction(async (q) => {
    const { rows: site } = await q("select 1 from websites where id = $1 and group_id = $2", [websiteId, groupId]);
    if (site.length === 0) throw notFound("Website");
    await holdPoolForSetting(q, groupId);
    const used = await poolDrawnThisMonth(q, { websiteId, groupId, now });
    if (monthlyCredits === null) {
      await q("delete from website_pool_caps where website_id = $1", [websiteId]);
      return { websiteId, monthlyCredits: null, usedThisMonth: used };
    }
    await q(
      `insert into website_pool_caps (website_id, group_id, monthly_credits, used_month, used_credits) values ($1, $2, $3, $4, $5)
       on conflict (website_id) do update set group_id = excluded.group_id, monthly_credits = excluded.monthly_credits,
         used_month = excluded.used_month, used_credits = excluded.used_credits, updated_at = now()`,
      [websiteId, groupId, monthlyCredits, monthKey(now), used],
    );
    return { websiteId, monthlyCredits, usedThisMonth: used };
  });
}

/** The group's capped websites with their use of the cap this month. */
export async function listPoolCaps({ database, groupId, now }: { database: Database; groupId: string; now: Date }): Promise<PoolCapsResponse> {
  const { rows } = await database.query<{ website_id: string; name: string; monthly_credits: number; used: number }>(
    `select c.website_id, w.name, c.monthly_credits, case when c.used_month = $2 then c.used_credits else 0 end as used
       from website_pool_caps c join websites w on w.id = c.website_id and w.group_id = c.group_id
      where c.group_id = $1 order by w.name`,
    [groupId, monthKey(now)],
  );
  return { caps: rows.map((r) => ({ websiteId: r.website_id, name: r.name, monthlyCredits: Number(r.monthly_credits), usedThisMonth: Number(r.used) })) };
}
