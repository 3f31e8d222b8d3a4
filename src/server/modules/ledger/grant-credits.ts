import type { Query } from "../../db/client.js";
import { syncPoolControls } from "../controls/pool-state.js";
import { expireGrants } from "./expire-credits.js";
import type { GrantKind } from "./grant-kinds.js";

export interface NewGrant {
  kind: GrantKind;
  websiteId?: string | null;
  groupId?: string | null;
  credits: number;
  expiresAt?: Date | null;
  periodStart?: Date | null;
  packages?: number | null;
  purchaseId?: string | null;
  /** What produced the grant (a purchase, an invoice, an API key): a second grant with the same key is not created. */
  sourceKey: string;
  /** The caller's clock: when the grant and its entry are written, and the pool's low-balance check. */
  now: Date;
  /** false: the caller syncs the pool's controls at its end (one check per change, not per step). */
  poolSync?: boolean;
}

export interface GrantResult {
  id: number;
  granted: number;
  expires_at: Date | null;
  website_id: string | null;
  /** False when a grant with this source key existed already (nothing was written). */
  created: boolean;
}

/** Insert a grant and its `grant` ledger entry in one statement; idempotent by `sourceKey`. */
export async function grantCredits(query: Query, g: NewGrant): Promise<GrantResult> {
  const { rows } = await query<GrantResult>(
    `with ins as (
       insert into credit_grants (kind, website_id, group_id, granted, remaining, expires_at, period_start, packages, purchase_id, source_key, created_at)
       values ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, coalesce($10::timestamptz, now()))
       on conflict (source_key) do nothing
       returning id, granted, expires_at, website_id, created_at
     ), entry as (
       insert into ledger_entries (grant_id, kind, amount, created_at) select id, 'grant', granted, created_at from ins
     )
     select id, granted, expires_at, website_id, true as created from ins
     union all
     select id, granted, expires_at, website_id, false from credit_grants where source_key = $9 and not exists (select 1 from ins)`,
    [g.kind, g.websiteId ?? null, g.groupId ?? null, g.credits, g.expiresAt ?? null, g.periodStart ?? null, g.packages ?? null, g.purchaseId ?? null, g.sourceKey, g.now],
  );
  const row = rows[0]!;
  // A pool that gained credits may have recovered above its low-balance threshold.
  if (row.created && g.groupId && g.poolSync !== false) await syncPoolControls(query, [g.groupId], g.now);
  return { ...row, id: Number(row.id), granted: Number(row.granted) };
}

/**
 * The monthly grant of one billing period. Monthly grants of earlier periods are replaced (their
 * remainder is written as expired). The caller holds the group's billing-profile lock (the lock
 * order of docs/decisions/0004), so one period change of a group runs at a time.
 */
export async function grantMonthlyPeriod(
  query: Query,
  g: { groupId: string; periodStart: Date; periodEnd: Date; packages: number; credits: number; sourceKey: string; purchaseId?: string | null; now: Date },
) {
  const { rows: older } = await query<{ id: number }>(
    `select id from credit_grants
      where group_id = $1 and kind = 'monthly' and remaining > 0 and period_start < $2
      order by id for update`,
    [g.groupId, g.periodStart],
  );
  // The old period's remainder and the new period's grant are one change of the pool: its
  // low-balance state is checked once, at the end (a renewal is not a crossing and back).
  await expireGrants(query, { grants: older, now: g.now, poolSync: false });
  // An older period's spent grant has nothing to write off but is over too, so that the balance
  // counts only the new period (Stripe's test clock renews before the old period's end in real time).
  await query(
    "update credit_grants set expired_at = $3 where group_id = $1 and kind = 'monthly' and remaining = 0 and expired_at is null and period_start < $2",
    [g.groupId, g.periodStart, g.now],
  );
  if (g.periodEnd.getTime() <= g.now.getTime()) {
    await syncPoolControls(query, [g.groupId], g.now);
    return null; // a stale period: nothing left to spend
  }
  // A later period was granted already and is still current (its events arrived first): this period is
  // over. Its payment still gets its one grant, expired at once, so that only the latest period's
  // credits can be spent. A later grant that is over (an earlier plan's, ended by its cancellation or
  // its own period end) does not make a new plan's period stale.
  const { rows: newer } = await query(
    "select 1 from credit_grants where group_id = $1 and kind = 'monthly' and period_start > $2 and expired_at is null and expires_at > $3 limit 1",
    [g.groupId, g.periodStart, g.now],
  );
  const grant = await grantCredits(query, {
    kind: "monthly",
    groupId: g.groupId,
    credits: g.credits,
    packages: g.packages,
    expiresAt: g.periodEnd,
    periodStart: g.periodStart,
    purchaseId: g.purchaseId ?? null,
    sourceKey: g.sourceKey,
    now: g.now,
    poolSync: false,
  });
  if (newer.length > 0 && grant.created) await expireGrants(query, { grants: [grant], now: g.now, poolSync: false });
  await syncPoolControls(query, [g.groupId], g.now);
  return grant;
}
