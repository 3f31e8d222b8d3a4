import type { Database } from "../../../src/server/db/client.js";

/**
 * Row count and a hash of every row, per table of the public schema: equal snapshots mean nothing
 * changed. Bookkeeping a read may write is not data: an API key's coarse `last_used_at` and the
 * shared cache of outside answers (`outside_calls`).
 */
export type Snapshot = Record<string, { rows: number; hash: string }>;

export async function databaseSnapshot(database: Pick<Database, "query">): Promise<Snapshot> {
  const { rows: tables } = await database.query<{ name: string }>(
    `select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'outside_calls' order by table_name`,
  );
  const snapshot: Snapshot = {};
  for (const { name } of tables) {
    const { rows } = await database.query<{ n: number; h: string }>(
      `select count(*)::int as n, md5(coalesce(string_agg(r, '|' order by r), '')) as h
         from (select (to_jsonb(t) - 'last_used_at')::text as r from "${name}" t) rows`,
    );
    snapshot[name] = { rows: Number(rows[0]!.n), hash: rows[0]!.h };
  }
  return snapshot;
}

/** Tables whose snapshot differs, with before and after. */
export function snapshotDiff(before: Snapshot, after: Snapshot) {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return names.filter((n) => JSON.stringify(before[n]) !== JSON.stringify(after[n])).map((n) => ({ table: n, before: before[n], after: after[n] }));
}
