import type { Query } from "../../db/client.js";
import { liveGrantSql } from "./grant-kinds.js";

export interface KindBalance {
  /** Credits granted (for monthly: the current period's grant). */
  granted: number;
  /** Spendable now. */
  remaining: number;
  packages: number;
  periodStart: Date | null;
  periodEnd: Date | null;
}

export interface CreditBalances {
  website: KindBalance | null;
  monthly: KindBalance | null;
  oneTime: KindBalance | null;
}

/**
 * The one balance query: a website's own credits and a group pool's monthly and one-time credits
 * at `now` (either owner may be null). The billing summary, the balance endpoint and the debit
 * path's answers all count with the same rule (`liveGrantSql`, the domain's rule): one-time grants
 * count whole (granted and what is left), monthly and website grants only while not past their end.
 */
export async function findCreditBalances(
  query: Query,
  { websiteId, groupId, now }: { websiteId: string | null; groupId: string | null; now: Date },
): Promise<CreditBalances> {
  const { rows } = await query<{ kind: "website" | "monthly" | "one_time"; granted: string; remaining: string; packages: number; period_start: Date | null; period_end: Date | null }>(
    `select g.kind, sum(g.granted)::bigint as granted,
            sum(g.remaining)::bigint as remaining,
            coalesce(sum(g.packages), 0)::int as packages, min(g.period_start) as period_start, max(g.expires_at) as period_end
       from credit_grants g
      where (g.website_id = $1 or g.group_id = $2)
        and (g.kind = 'one_time' or ${liveGrantSql("g", "$3")})
      group by g.kind`,
    [websiteId, groupId, now],
  );
  const of = (kind: string): KindBalance | null => {
    const r = rows.find((x) => x.kind === kind);
    return r
      ? { granted: Number(r.granted), remaining: Number(r.remaining), packages: Number(r.packages), periodStart: r.period_start, periodEnd: r.period_end }
      : null;
  };
  return { website: of("website"), monthly: of("monthly"), oneTime: of("one_time") };
}
