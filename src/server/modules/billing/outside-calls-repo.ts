import type { Query } from "../../db/client.js";
import type { PaidInvoice } from "./ports.js";

/**
 * Outside calls shared by every process through the database (table `outside_calls`), so that a
 * reload loop, in any number of tabs and processes, cannot turn into a Stripe rate-limit outage.
 */
export const INVOICES_TTL_SECONDS = 30;

type StoredInvoice = Omit<PaidInvoice, "paidAt"> & { paidAt: string };

/**
 * A group's paid invoices as the provider last answered, if younger than the TTL; otherwise null
 * and the database's clock at the read (`fetchStartedAt`), to store the next answer under.
 */
export async function findCachedInvoices(query: Query, groupId: string): Promise<{ invoices: PaidInvoice[] | null; fetchStartedAt: string }> {
  const { rows } = await query<{ value: StoredInvoice[] | null; fresh: boolean; now: string }>(
    `select c.value, c.at > now() - make_interval(secs => $2) as fresh, now()::text as now
       from (select 1) one left join outside_calls c on c.key = $1`,
    [`invoices:${groupId}`, INVOICES_TTL_SECONDS],
  );
  const row = rows[0]!;
  const invoices = row.value && row.fresh ? row.value.map((i) => ({ ...i, paidAt: new Date(i.paidAt) })) : null;
  return { invoices, fetchStartedAt: row.now };
}

/**
 * Store an answer fetched after `fetchStartedAt`, unless a payment was recorded for the group since
 * then (migration 0002's triggers stamp a purge): an answer that may predate it is not kept.
 */
export async function storeInvoices(query: Query, groupId: string, invoices: PaidInvoice[], fetchStartedAt: string) {
  await query(
    `insert into outside_calls (key, value, at) values ($1, $2::jsonb, $3::timestamptz)
     on conflict (key) do update set value = excluded.value, at = excluded.at where outside_calls.at < excluded.at`,
    [`invoices:${groupId}`, JSON.stringify(invoices), fetchStartedAt],
  );
}
