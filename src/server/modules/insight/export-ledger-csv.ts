import { LEDGER_CSV_COLUMNS } from "../../../contracts/insight.js";
import type { Query } from "../../db/client.js";
import type { creditGrants, ledgerEntries } from "../../db/schema.js";
import { SOURCE_OF } from "../ledger/index.js";

type EntryRow = Pick<typeof ledgerEntries.$inferSelect, "id" | "kind" | "amount"> & {
  created_at: Date;
  grant_kind: (typeof creditGrants.$inferSelect)["kind"];
  grant_id: number;
  website_id: string | null;
  website_name: string | null;
  usage_event_id: string | null;
  idempotency_key: string | null;
};

/** Ledger ids read per query: a primary-key range, so each query is bounded whatever the group's share of the ledger. */
const WINDOW = 20_000;

/**
 * A CSV field: quoted when it holds a comma, quote or line break; text a spreadsheet would run as
 * a formula (=, +, -, @, tab, CR at its start) gets a leading apostrophe (OWASP CSV injection).
 */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvLine(r: EntryRow): string {
  return [
    csvField(r.created_at.toISOString()),
    csvField(String(r.id)),
    csvField(r.kind),
    csvField(SOURCE_OF[r.grant_kind]),
    csvField(r.website_id),
    csvField(r.website_name),
    csvField(r.usage_event_id),
    csvField(r.idempotency_key),
    csvField(Number(r.amount)),
    csvField(String(r.grant_id)),
  ].join(",");
}

/**
 * The group's ledger as CSV: its grants' and its websites' own grants' entries, oldest first,
 * `from`/`to` inclusive UTC dates. A pull stream: the next window of entries is read only when
 * the client has taken the previous one, so memory stays constant however long the range
 * (backpressure), and each read is a short query of its own (other requests interleave, also on
 * PGlite's single connection).
 */
export async function exportLedgerCsv({ query, groupId, from, to }: { query: Query; groupId: string; from?: string | undefined; to?: string | undefined }) {
  const fromTs = from ? new Date(`${from}T00:00:00Z`) : new Date(0);
  const toTs = new Date(to ? Date.parse(`${to}T00:00:00Z`) + 86_400_000 : Date.parse("9999-12-31T00:00:00Z"));
  const { rows } = await query<{ grant_ids: number[] | null; first: number | null; last: number | null }>(
    `with g as (select id from credit_grants where group_id = $1 or website_id in (select id from websites where group_id = $1))
     select (select array_agg(id) from g) as grant_ids,
            (select min(l.id) from ledger_entries l where l.grant_id in (select id from g)) as first,
            (select max(id) from ledger_entries) as last`,
    [groupId],
  );
  const grantIds = (rows[0]?.grant_ids ?? []).map(Number);
  let next = Number(rows[0]?.first ?? 1);
  const last = Number(rows[0]?.last ?? 0);
  const encoder = new TextEncoder();
  let header = true;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (header) {
          header = false;
          controller.enqueue(encoder.encode(`${LEDGER_CSV_COLUMNS.join(",")}\r\n`));
          return;
        }
        // Windows holding none of the group's entries are skipped without answering anything.
        while (grantIds.length > 0 && next <= last) {
          const lo = next;
          next += WINDOW;
          const batch = await query<EntryRow>(
            `select l.id, l.created_at, l.kind, l.amount, l.grant_id, g.kind as grant_kind,
                    coalesce(g.website_id, e.website_id) as website_id, w.name as website_name, l.usage_event_id, e.idempotency_key
               from ledger_entries l
               join credit_grants g on g.id = l.grant_id
               left join usage_events e on e.id = l.usage_event_id
               left join websites w on w.id = coalesce(g.website_id, e.website_id)
              where l.id >= $1 and l.id < $2 and l.grant_id = any($3::bigint[]) and l.created_at >= $4 and l.created_at < $5
              order by l.id`,
            [lo, lo + WINDOW, grantIds, fromTs, toTs],
          );
          if (batch.rows.length > 0) {
            controller.enqueue(encoder.encode(`${batch.rows.map(csvLine).join("\r\n")}\r\n`));
            return;
          }
        }
        controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}
