import type { Query } from "../../db/client.js";

/**
 * Grants whose balance is not the sum of their ledger entries, or whose granted total is not the
 * sum of their grant entries, plus usage events whose debits do not add up: must always be empty.
 * Asserted after every ledger test and run by the scheduler as a periodic verifier.
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
