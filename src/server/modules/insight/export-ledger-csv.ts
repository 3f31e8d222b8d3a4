import { LEDGER_CSV_COLUMNS } from "../../../contracts/insight.js";
import type { Query } from "../../db/client.js";
import { SOURCE_OF } from "../ledger/index.js";

/** Ledger ids read per query: a primary-key range, so each query is bounded whatever the group's share of the ledger (and its plan cost stays under jit_above_cost: no JIT compile per window). */
const WINDOW = 10_000;
/**
 * Ledger ids per text piece of a window: a piece (~80 KB) stays a young-generation string that a
 * scavenge frees at once, where one string per window (1.6 MB) lived in V8's large-object space
 * until a full collection: +80 MB of RSS over a 1M-entry export (bench section 7, 16:10).
 */
const PIECE = 500;
/** Windows read at once (a pool connection each on PostgreSQL). */
const READ_AHEAD = 2;

/**
 * A text column as a CSV field, in SQL: empty for null; quoted when it holds a comma, quote or line
 * break; text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading
 * apostrophe (OWASP CSV injection). One regular expression tells the fields that need neither (nearly
 * all), which are written as they are: the 10 tests of each field per line had cost PostgreSQL a third
 * of the export's time (docs/performance.md, 2026-11-28).
 */
export function csvTextSql(expr: string): string {
  const safe = `(case when left(${expr}, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then chr(39) || ${expr} else ${expr} end)`;
  const needsQuotes = `(strpos(${expr}, '"') > 0 or strpos(${expr}, ',') > 0 or strpos(${expr}, chr(10)) > 0 or strpos(${expr}, chr(13)) > 0)`;
  const slow = `case when ${needsQuotes} then '"' || replace(${safe}, '"', '""') || '"' else ${safe} end`;
  return `coalesce(case when ${expr} ~ '^[-=+@\\t\\r]|[",\\r\\n]' then ${slow} else ${expr} end, '')`;
}

const SOURCE_SQL = `case g.kind ${Object.entries(SOURCE_OF)
  .map(([kind, source]) => `when '${kind}' then '${source}'`)
  .join(" ")} end`;

/**
 * One window of the export as a few text values: PostgreSQL formats the lines (the columns of
 * LEDGER_CSV_COLUMNS), so the API process handles one string per PIECE ids instead of 100,000
 * parsed values per window.
 */
const WINDOW_SQL = `
  select string_agg(
           to_char(l.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ',' || l.id || ',' || l.kind || ',' || ${SOURCE_SQL} || ',' ||
           coalesce(coalesce(g.website_id, e.website_id)::text, '') || ',' || ${csvTextSql("w.name")} || ',' ||
           coalesce(l.usage_event_id::text, '') || ',' || ${csvTextSql("e.idempotency_key")} || ',' || l.amount || ',' || l.grant_id,
           chr(13) || chr(10) order by l.id) as chunk
    from ledger_entries l
    -- The group's grants filter the window as the hash join's inner side (an any() beside the id range tested every entry against every grant id).
    join credit_grants g on g.id = l.grant_id and g.id = any($3::bigint[])
    -- One index probe per entry (limit 1 keeps the planner from hashing the whole usage_events table per window).
    left join lateral (select u.website_id, u.idempotency_key from usage_events u where u.id = l.usage_event_id limit 1) e on true
    left join websites w on w.id = coalesce(g.website_id, e.website_id)
   where l.id >= $1 and l.id < $2 and l.created_at >= $4 and l.created_at < $5
   group by (l.id - $1) / ${PIECE}
   order by (l.id - $1) / ${PIECE}`;

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
  let last = Number(rows[0]?.last ?? 0);
  const encoder = new TextEncoder();

  /**
   * Windows read ahead, in order, while the client takes the previous one: PostgreSQL formats two
   * windows at once (one per core) while this process writes. Holds READ_AHEAD windows at most.
   */
  const pending: Promise<string[]>[] = [];
  const fill = () => {
    while (pending.length < READ_AHEAD && grantIds.length > 0 && next <= last) {
      const lo = next;
      next += WINDOW;
      const pieces = query<{ chunk: string }>(WINDOW_SQL, [lo, lo + WINDOW, grantIds, fromTs, toTs]).then(({ rows: w }) => w.map((r) => r.chunk));
      pieces.catch(() => undefined); // surfaced by pull, in order
      pending.push(pieces);
    }
  };
  /** The pieces of the window being written, last piece first. */
  let current: string[] = [];

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(`${LEDGER_CSV_COLUMNS.join(",")}\r\n`));
        fill();
      },
      async pull(controller) {
        // Windows holding none of the group's entries are skipped without answering anything.
        while (current.length === 0) {
          const window = pending.shift();
          if (!window) return controller.close();
          current = (await window).reverse();
          fill();
        }
        controller.enqueue(encoder.encode(`${current.pop()!}\r\n`));
      },
      cancel() {
        pending.length = 0;
        current = [];
        last = next - 1;
      },
    },
    { highWaterMark: 1 },
  );
}
