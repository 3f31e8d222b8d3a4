import type { Database } from "../../src/server/db/client.js";

/**
 * Rows held locked by a transaction of their own (PostgreSQL: another connection), so that the
 * statements a test starts next queue behind them in a known order. Resolves once the rows are
 * held, to the function that commits that transaction and waits for it.
 */
export async function holdRowLocks(database: Database, lockingSql: string, params: unknown[]) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holder = database.transaction(async (q) => {
    await q(lockingSql, params);
    locked();
    await held;
  });
  await isLocked;
  return async () => {
    release();
    await holder;
  };
}

/** Until at least `n` statements of this database wait for a lock (one naming `table`, when given). */
export async function waitForLockWaits(database: Database, n: number, table?: string) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await database.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike $1",
      [table ? `%${table}%` : "%"],
    );
    if (rows[0]!.n >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} statements waited for a lock${table ? ` on ${table}` : ""}`);
}
