import type { Query } from "../../db/client.js";

/**
 * Grants whose balance is not the sum of their ledger entries, or whose granted total is not the
 * sum of their grant entries, plus usage events whose debits do not add up: must always be empty.
 * Asserted after every ledger test and run by the scheduler as a periodic verifier.
 *
 * The hot tables carry no foreign keys (migration 0007_hot_path), so the references are checked
 * here too: entries of a grant that does not exist are listed under `grants` (remaining null),
 * debits of an event that does not exist and events of a website that does not exist (or of
 * another organization) under `events`.
 */
export async function findInvariantViolations(query: Query) {
  const grants = await query<{ id: number; remaining: number | null; ledger: number }>(
    `select coalesce(g.id, l.grant_id) as id, g.remaining, coalesce(l.total, 0)::bigint as ledger
       from credit_grants g
       full join (select grant_id, sum(amount) as total, sum(amount) filter (where kind = 'grant') as granted
                    from ledger_entries group by grant_id) l on l.grant_id = g.id
      where g.id is null or g.remaining <> coalesce(l.total, 0) or g.granted <> coalesce(l.granted, 0) or g.remaining < 0`,
  );
  const events = await query<{ id: string }>(
    `select coalesce(e.id, l.usage_event_id) as id from usage_events e
       full join (select usage_event_id, sum(amount) as total from ledger_entries where usage_event_id is not null group by usage_event_id) l
         on l.usage_event_id = e.id
       left join websites w on w.id = e.website_id
      where e.id is null or coalesce(l.total, 0) <> -e.credits or w.id is null or w.org_id <> e.org_id`,
  );
  return { grants: grants.rows, events: events.rows };
}
