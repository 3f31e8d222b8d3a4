import type { Query } from "../../db/client.js";
import { syncPoolControls } from "../controls/pool-state.js";

/**
 * Write the remainder of (locked) grants to the ledger as expired, at `now`. The caller holds the
 * rows' locks (FOR UPDATE), so the remainder read here is the one that expires.
 */
export async function expireGrants(
  query: Query,
  { grants, now, poolSync = true }: { grants: readonly { id: number }[]; now: Date; /** false: the caller syncs the pools at its end. */ poolSync?: boolean },
): Promise<string[]> {
  if (grants.length === 0) return [];
  const ids = grants.map((g) => g.id);
  const { rows } = await query<{ group_id: string }>(
    `with gone as (
       update credit_grants g set remaining = 0, expired_at = $2
         from (select id, remaining from credit_grants where id = any($1::bigint[]) and remaining > 0) old
        where g.id = old.id
       returning g.id, g.group_id, old.remaining
     ), entries as (
       insert into ledger_entries (grant_id, kind, amount, created_at) select id, 'expiry', -remaining, $2 from gone
     )
     select distinct group_id from gone where group_id is not null`,
    [ids, now],
  );
  // A pool that lost credits may have crossed its low-balance or auto top-up threshold.
  const groupIds = rows.map((r) => r.group_id);
  if (poolSync) await syncPoolControls(query, groupIds, now);
  return groupIds;
}

/**
 * Expire every grant past its end at `now` that still holds credits; returns how many.
 * Safe to run concurrently (the scheduled sweep of several processes): rows are locked, skipped
 * when another process holds them, and re-checked.
 */
export async function expireDueGrants(query: Query, { now }: { now: Date }): Promise<number> {
  const { rows } = await query<{ id: number }>(
    `select id from credit_grants
      where remaining > 0 and expires_at <= $1
      order by id
        for update skip locked`,
    [now],
  );
  await expireGrants(query, { grants: rows, now });
  return rows.length;
}

/** A plan that ended takes its period's monthly credits with it; nothing more is granted. */
export async function endMonthlyCredits(query: Query, { groupId, now }: { groupId: string; now: Date }) {
  const { rows } = await query<{ id: number }>(
    "select id from credit_grants where group_id = $1 and kind = 'monthly' and remaining > 0 order by id for update",
    [groupId],
  );
  await expireGrants(query, { grants: rows, now });
  // A spent grant has nothing to write off but is over too: a later plan's periods are not stale next to it.
  await query("update credit_grants set expired_at = $2 where group_id = $1 and kind = 'monthly' and remaining = 0 and expired_at is null", [groupId, now]);
}

/**
 * Keep a group's monthly grant of one period spendable until `until`: its renewal is in flight
 * and its outcome unknown (credits.md "Unknown outcomes"). Only a grant not yet written off; the
 * renewal's grant replaces it, a known failure ends it.
 */
export async function extendMonthlyGrant(query: Query, { groupId, periodStart, until }: { groupId: string; periodStart: Date; until: Date }) {
  await query(
    `update credit_grants set expires_at = greatest(expires_at, $3)
      where group_id = $1 and kind = 'monthly' and period_start = $2 and expired_at is null and remaining > 0`,
    [groupId, periodStart, until],
  );
}
