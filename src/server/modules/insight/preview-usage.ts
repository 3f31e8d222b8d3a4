import type { PreviewResult } from "../../../contracts/insight.js";
import type { Balance } from "../../../contracts/usage.js";
import { sortForConsumption, type GrantSnapshot } from "../../../domain/consumption.js";
import { monthKey } from "../../../domain/periods.js";
import { planCappedDebitInPlace } from "../../../domain/pool-controls.js";
import type { Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import type { creditGrants } from "../../db/schema.js";
import { SOURCE_OF } from "../ledger/index.js";

type GrantRow = Pick<typeof creditGrants.$inferSelect, "id" | "kind" | "remaining"> & { expires_at: Date | null; created_at: Date };

/**
 * How a usage event of `credits` would be debited now, without debiting: the grants the debit
 * path would lock (the website's own, and its group's pool while billing is enabled) and the
 * website's pool cap left this month, planned by the same domain planner in the same order, and the
 * balance the debit would answer with (`debitUsageBatch` in the ledger module), but read without
 * locks and without writing. Not covered (too few credits, or the cap) means parts [] and the
 * balance as it is.
 */
export async function previewUsage({ query, orgId, websiteId, credits, now }: { query: Query; orgId: string; websiteId: string; credits: number; now: Date }): Promise<PreviewResult> {
  const { rows: sites } = await query<{ group_id: string | null; billing: boolean; cap: number | null; cap_used: number | null }>(
    `select w.group_id, (bp.group_id is not null) as billing, c.monthly_credits as cap,
            case when c.used_month = $3 then c.used_credits else 0 end as cap_used
       from websites w left join billing_profiles bp on bp.group_id = w.group_id
       left join website_pool_caps c on c.website_id = w.id and c.group_id = w.group_id and bp.group_id is not null
      where w.id = $1 and w.org_id = $2 and w.deleted_at is null`,
    [websiteId, orgId, monthKey(now)],
  );
  const site = sites[0];
  if (!site) throw new AppError("not_found", "Website not found.");
  const pool = site.billing ? site.group_id : null;
  const { rows } = await query<GrantRow>(
    `select id, kind, remaining, expires_at, created_at
       from credit_grants
      where remaining > 0 and (website_id = $1 or group_id = $2)
      order by id`,
    [websiteId, pool],
  );
  const grants: GrantSnapshot[] = rows.map((g) => ({
    id: String(g.id),
    source: SOURCE_OF[g.kind],
    remaining: Number(g.remaining),
    expiresAt: g.expires_at,
    createdAt: g.created_at,
  }));
  const sorted = sortForConsumption(grants, now);
  const capLeft = site.cap === null ? null : Math.max(0, Number(site.cap) - Number(site.cap_used ?? 0));
  const plan = planCappedDebitInPlace(sorted, credits, capLeft);
  const balance: Balance = { website: 0, groupMonthly: 0, groupOneTime: 0 };
  for (const g of sorted) {
    if (g.source === "website") balance.website += g.remaining;
    else if (g.source === "group_monthly") balance.groupMonthly += g.remaining;
    else balance.groupOneTime += g.remaining;
  }
  return { covered: plan.ok, parts: plan.ok ? plan.parts.map((p) => ({ source: p.source, credits: p.credits })) : [], balance };
}
