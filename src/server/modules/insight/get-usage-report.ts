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

  const [days, websites, pool, caps] = await Promise.all([
    query<DailyRow & { day: string }>(
      `select to_char(day, 'YYYY-MM-DD') as day, sum(website)::bigint as website, sum(group_monthly)::bigint as "groupMonthly",
              sum(group_one_time)::bigint as "groupOneTime"
         from usage_daily where group_id = $1 and day between $2 and $3 group by day`,
      [groupId, from, to],
    ),
    // Every website of the group, plus any that drew on it this month and has left since.
    query<DailyRow & { websiteId: string; name: string }>(
      `select s.id as "websiteId", s.name, coalesce(u.website, 0)::bigint as website, coalesce(u.m, 0)::bigint as "groupMonthly",
              coalesce(u.o, 0)::bigint as "groupOneTime"
         from (select website_id, sum(website) as website, sum(group_monthly) as m, sum(group_one_time) as o
                 from usage_daily where group_id = $1 and day between $2 and $3 group by website_id) u
         full join (select id from websites where group_id = $1) cur on cur.id = u.website_id
         join websites s on s.id = coalesce(u.website_id, cur.id)`,
      [groupId, from, to],
    ),
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

  const byDay = new Map(days.rows.map((r) => [r.day, r]));
  const dayList: UsageDay[] = [];
  if (first <= today) {
    for (let d = first; d <= last; d += DAY_MS) {
      const r = byDay.get(isoDay(d));
      dayList.push({ date: isoDay(d), website: Number(r?.website ?? 0), groupMonthly: Number(r?.groupMonthly ?? 0), groupOneTime: Number(r?.groupOneTime ?? 0) });
    }
  }
  const poolOf = (w: UsageWebsite) => w.groupMonthly + w.groupOneTime;
  const websiteList: UsageWebsite[] = websites.rows
    .map((r) => ({
      websiteId: r.websiteId,
      name: r.name,
      website: Number(r.website),
      groupMonthly: Number(r.groupMonthly),
      groupOneTime: Number(r.groupOneTime),
      poolCap: caps.get(r.websiteId) ?? null,
    }))
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
