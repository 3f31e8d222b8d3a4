import type { UsageDay, UsageReport, UsageWebsite } from "../../../contracts/insight.js";
import { forecastPool } from "../../../domain/forecast.js";
import { monthKey } from "../../../domain/periods.js";
import type { Query } from "../../db/client.js";
import type { usageDaily } from "../../db/schema.js";
import { findPoolCaps } from "./pool-caps.js";

type DailyRow = Pick<typeof usageDaily.$inferSelect, "website" | "groupMonthly" | "groupOneTime">;

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Usage of one UTC month for a group: credits debited per day by source (every day of the month
 * up to today), per website (every website of the group, zeros included, biggest pool users
 * first), and the pool forecast as of `now`. Reads the `usage_daily` rollup and the group's
 * grants; never the ledger.
 */
export async function getUsageReport({
  query,
  groupId,
  month,
  now,
  creditsPerPackage,
}: {
  query: Query;
  groupId: string;
  month?: string | undefined;
  now: Date;
  creditsPerPackage: number;
}): Promise<UsageReport> {
  const key = month ?? monthKey(now);
  const first = Date.parse(`${key}-01T00:00:00Z`);
  const next = new Date(first);
  next.setUTCMonth(next.getUTCMonth() + 1);
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const last = Math.min(next.getTime() - DAY_MS, today);
  const from = isoDay(first);
  const to = isoDay(Math.max(first, last));

  const [sums, groupSites, pool, caps] = await Promise.all([
    // Per day and per website in one scan of the month's rollup rows.
    query<DailyRow & { perSite: boolean; day: string | null; websiteId: string | null }>(
      `select grouping(day) = 1 as "perSite", to_char(day, 'YYYY-MM-DD') as day, website_id as "websiteId", sum(website)::bigint as website,
              sum(group_monthly)::bigint as "groupMonthly", sum(group_one_time)::bigint as "groupOneTime"
         from usage_daily where group_id = $1 and day between $2 and $3
        group by grouping sets ((day), (website_id))`,
      [groupId, from, to],
    ),
    query<{ id: string; name: string }>("select id, name from websites where group_id = $1", [groupId]),
    query<{ draws: number; monthly: number; period_end: Date | null; one_time: number; plan_quantity: number | null; plan_renews: boolean | null; plan_end: Date | null }>(
      `select (select coalesce(sum(group_monthly + group_one_time), 0)::bigint from usage_daily
                where group_id = $1 and day >= $2::date - 7 and day < $2::date) as draws,
              (select coalesce(sum(remaining), 0)::bigint from credit_grants
                where group_id = $1 and kind = 'monthly' and remaining > 0 and expires_at > $3) as monthly,
              (select max(expires_at) from credit_grants
                where group_id = $1 and kind = 'monthly' and expires_at > $3 and expired_at is null) as period_end,
              (select coalesce(sum(remaining), 0)::bigint from credit_grants
                where group_id = $1 and kind = 'one_time' and remaining > 0) as one_time,
              p.quantity as plan_quantity, (p.status = 'active' and not p.cancel_at_period_end) as plan_renews, p.current_period_end as plan_end
         from (select 1) one left join plans p on p.group_id = $1`,
      [groupId, isoDay(today), now],
    ),
    findPoolCaps({ query, groupId }),
  ]);

  const byDay = new Map(sums.rows.filter((r) => !r.perSite).map((r) => [r.day, r]));
  const bySite = new Map(sums.rows.filter((r) => r.perSite).map((r) => [r.websiteId!, r]));
  const dayList: UsageDay[] = [];
  if (first <= today) {
    for (let d = first; d <= last; d += DAY_MS) {
      const r = byDay.get(isoDay(d));
      dayList.push({ date: isoDay(d), website: Number(r?.website ?? 0), groupMonthly: Number(r?.groupMonthly ?? 0), groupOneTime: Number(r?.groupOneTime ?? 0) });
    }
  }
  // Every website of the group, plus any that drew on it this month and has left since.
  const sites = new Map(groupSites.rows.map((w) => [w.id, w.name]));
  const departed = [...bySite.keys()].filter((id) => !sites.has(id));
  if (departed.length > 0) {
    const { rows } = await query<{ id: string; name: string }>("select id, name from websites where id = any($1::uuid[])", [departed]);
    for (const w of rows) sites.set(w.id, w.name);
  }
  const poolOf = (w: UsageWebsite) => w.groupMonthly + w.groupOneTime;
  const websiteList: UsageWebsite[] = [...sites]
    .map(([websiteId, name]) => {
      const r = bySite.get(websiteId);
      return {
        websiteId,
        name,
        website: Number(r?.website ?? 0),
        groupMonthly: Number(r?.groupMonthly ?? 0),
        groupOneTime: Number(r?.groupOneTime ?? 0),
        poolCap: caps.get(websiteId) ?? null,
      };
    })
    .sort((a, b) => poolOf(b) - poolOf(a) || b.website - a.website || a.name.localeCompare(b.name) || a.websiteId.localeCompare(b.websiteId));

  const p = pool.rows[0]!;
  const periodEnd = p.period_end ?? (p.plan_renews && p.plan_end && p.plan_end.getTime() > now.getTime() ? p.plan_end : null);
  const forecast = forecastPool({
    now,
    drawsLast7Days: Number(p.draws),
    monthlyRemaining: Number(p.monthly),
    periodEnd,
    oneTimeRemaining: Number(p.one_time),
    renewalCredits: p.plan_renews && p.plan_quantity ? p.plan_quantity * creditsPerPackage : null,
  });
  return { month: key, days: dayList, websites: websiteList, forecast };
}
