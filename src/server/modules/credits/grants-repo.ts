import type { CreditSource } from "../../../contracts/usage.js";
import type { Query } from "../../db/client.js";

export type GrantKind = "website" | "monthly" | "one_time";

export interface GrantRow {
  id: number;
  kind: GrantKind;
  website_id: string | null;
  group_id: string | null;
  remaining: number;
  expires_at: Date | null;
  created_at: Date;
}

export const SOURCE_OF: Record<GrantKind, CreditSource> = { website: "website", monthly: "group_monthly", one_time: "group_one_time" };

/**
 * Lock (FOR UPDATE, in id order so concurrent transactions never deadlock) every grant with
 * credits left that belongs to the websites or to the groups' pools.
 */
export async function lockGrants(query: Query, { websiteIds, groupIds }: { websiteIds: string[]; groupIds: string[] }) {
  const { rows } = await query<GrantRow>(
    `select id, kind, website_id, group_id, remaining, expires_at, created_at
       from credit_grants
      where remaining > 0 and (website_id = any($1::uuid[]) or group_id = any($2::uuid[]))
      order by id
        for update`,
    [websiteIds, groupIds],
  );
  return rows;
}

/** Write the remainder of expired (locked) grants to the ledger as expired. */
export async function expireLockedGrants(query: Query, grants: { id: number; remaining: number }[]) {
  if (grants.length === 0) return;
  const ids = grants.map((g) => g.id);
  await query(
    `insert into ledger_entries (grant_id, kind, amount)
     select id, 'expiry', -remaining from credit_grants where id = any($1::bigint[]) and remaining > 0`,
    [ids],
  );
  await query(`update credit_grants set remaining = 0, expired_at = now() where id = any($1::bigint[]) and remaining > 0`, [ids]);
}

/**
 * Expire every grant past its end that still holds credits, oldest first; returns how many.
 * Safe to run concurrently: rows are locked and re-checked.
 */
export async function expireDueGrants(query: Query, now = new Date()): Promise<number> {
  const { rows } = await query<{ id: number; remaining: number }>(
    `select id, remaining from credit_grants
      where remaining > 0 and expires_at <= $1
      order by id
        for update skip locked`,
    [now],
  );
  await expireLockedGrants(query, rows);
  return rows.length;
}

export interface NewGrant {
  kind: GrantKind;
  websiteId?: string | null;
  groupId?: string | null;
  credits: number;
  expiresAt?: Date | null;
  periodStart?: Date | null;
  packages?: number | null;
  purchaseId?: string | null;
  /** What produced the grant; a second grant with the same key is not created. */
  sourceKey: string;
}

/**
 * Insert a grant and its ledger entry; idempotent by sourceKey.
 * Returns the grant and whether it was created now.
 */
export async function insertGrant(query: Query, g: NewGrant) {
  const { rows } = await query<{ id: number; granted: number; expires_at: Date | null; created: boolean }>(
    `with ins as (
       insert into credit_grants (kind, website_id, group_id, granted, remaining, expires_at, period_start, packages, purchase_id, source_key)
       values ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)
       on conflict (source_key) do nothing
       returning id, granted, expires_at
     ), entry as (
       insert into ledger_entries (grant_id, kind, amount) select id, 'grant', granted from ins
     )
     select id, granted, expires_at, true as created from ins
     union all
     select id, granted, expires_at, false from credit_grants where source_key = $9 and not exists (select 1 from ins)`,
    [g.kind, g.websiteId ?? null, g.groupId ?? null, g.credits, g.expiresAt ?? null, g.periodStart ?? null, g.packages ?? null, g.purchaseId ?? null, g.sourceKey],
  );
  return rows[0]!;
}

/**
 * Grants whose balance is not the sum of their ledger entries, or whose granted total is not the
 * sum of their grant entries, plus usage events whose debits do not add up: must always be empty.
 */
export async function findInvariantViolations(query: Query) {
  const grants = await query<{ id: number; remaining: number; ledger: number }>(
    `select g.id, g.remaining, coalesce(l.total, 0)::bigint as ledger
       from credit_grants g
       left join (select grant_id, sum(amount) as total, sum(amount) filter (where kind = 'grant') as granted
                    from ledger_entries group by grant_id) l on l.grant_id = g.id
      where g.remaining <> coalesce(l.total, 0) or g.granted <> coalesce(l.granted, 0) or g.remaining < 0`,
  );
  const events = await query<{ id: string }>(
    `select e.id from usage_events e
       left join (select usage_event_id, sum(amount) as total from ledger_entries where usage_event_id is not null group by usage_event_id) l
         on l.usage_event_id = e.id
      where coalesce(l.total, 0) <> -e.credits`,
  );
  return { grants: grants.rows, events: events.rows };
}
