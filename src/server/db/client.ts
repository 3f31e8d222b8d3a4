import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import pg from "pg";
import * as schema from "./schema.js";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle has the same query API as the database. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

/**
 * `prepare` names a statement the hot paths run many times: on PostgreSQL it is prepared once per
 * connection (no planning on each call); PGlite ignores it.
 */
export type Query = <T = Record<string, unknown>>(text: string, params?: unknown[], opts?: { prepare?: string }) => Promise<{ rows: T[] }>;

export interface Database {
  db: Db;
  kind: "postgres" | "pglite";
  /** Run raw SQL with positional parameters; both drivers answer `{ rows }`. */
  query: Query;
  /** One transaction on one connection, with raw SQL (the hot credit paths use this). */
  transaction: <T>(fn: (query: Query) => Promise<T>) => Promise<T>;
  close(): Promise<void>;
  /**
   * The usage lanes' connections (usage-processor.ts): their statements are planned once per
   * connection and then reused (`plan_cache_mode = force_generic_plan`), whatever the batch's
   * shape. On the main connections PostgreSQL's own choice stands. PGlite: its one connection,
   * as `query` and `transaction` above.
   */
  lanes: Pick<Database, "query" | "transaction"> & {
    /**
     * PostgreSQL only: lane `n`'s own connection in pipeline mode (node-postgres `pipeline`), on
     * which a statement is sent while the ones before it are still running: the server runs them
     * one after another, each as soon as the one before has committed (usage-processor.ts `depth`).
     */
    pipelined?: (lane: number) => Query;
  };
  /** The pg pool (postgres only). */
  pool: pg.Pool | null;
  pglite: PGlite | null;
}

/**
 * A PostgreSQL array literal of values that need no quoting (UUIDs, integers), for a `$n::uuid[]`
 * or `$n::bigint[]` parameter of a hot statement: node-postgres quotes and escapes every element of
 * a JS array (two regular-expression passes each), which the hot path's profile showed.
 */
export const plainArray = (values: readonly (string | number)[]): string => `{${values.join(",")}}`;

// Bigint columns come back as strings from node-postgres; credits fit in JS numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export async function openDatabase(opts: { url?: string | undefined; dataDir?: string | null; poolSize?: number }): Promise<Database> {
  if (opts.url) {
    // Connections stay open once made (no idle timeout): opening one costs tens of milliseconds,
    // which a burst after a quiet spell would otherwise pay at its first requests (measured in the
    // hot-pool bench: a process idle for 10 s answered its first requests 50-200 ms late).
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 20, idleTimeoutMillis: 0 });
    const lanePool = await openLanePool(opts.url);
    const pipelines = lanePipelines(opts.url, lanePool.options.options);
    for (const p of [pool, lanePool]) p.on("error", () => undefined); // a dropped idle client is replaced on next use
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      pool,
      pglite: null,
      ...access(pool),
      lanes: { ...access(lanePool), pipelined: pipelines.query },
      close: async () => {
        await Promise.all([pool.end(), lanePool.end(), pipelines.end()]);
      },
    };
  }
  const client = new PGlite(opts.dataDir ?? undefined);
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const embedded: Pick<Database, "query" | "transaction"> = {
    query: async <T,>(text: string, params?: unknown[]) => {
      const r = await client.query<T>(text, params);
      return { rows: r.rows };
    },
    transaction: (fn) => client.transaction((tx) => fn(async <T,>(text: string, params?: unknown[]) => ({ rows: (await tx.query<T>(text, params)).rows }))),
  };
  return { db, kind: "pglite", pool: null, pglite: client, ...embedded, lanes: embedded, close: () => client.close() };
}

/**
 * The usage lanes' own few connections. With PostgreSQL's default choice, a lane's write of events
 * from several websites was planned again on every call (a custom plan: its estimate beat the
 * generic one's): 22 % of PostgreSQL's CPU in the spread run (perf), 175-185 against 120-137 µs per
 * request with generic plans (bench/prof-hot.ts SPREAD=1, docs/performance.md).
 * The setting travels as a startup parameter, which a connection pooler may refuse: PgBouncer
 * answers "unsupported startup parameter: options" (1.18) or "unsupported startup parameter in
 * options: plan_cache_mode" (1.20 on, and the poolers of hosted PostgreSQL built on it), 08P01,
 * unless `options` is in its `ignore_startup_parameters`. Then the lanes keep PostgreSQL's own
 * choice rather than fail every debit: one connection is tried at open.
 */
async function openLanePool(url: string): Promise<pg.Pool> {
  const lanes = (options?: string) => new pg.Pool({ connectionString: url, max: 8, idleTimeoutMillis: 0, ...(options ? { options } : {}) });
  const generic = lanes("-c plan_cache_mode=force_generic_plan");
  try {
    (await generic.connect()).release();
    return generic;
  } catch (err) {
    // Any other failure (the server down, say) is the first query's to report, as on the main pool.
    if (!/unsupported (\w+ )?startup parameter/i.test((err as Error).message)) return generic;
    await generic.end();
    return lanes();
  }
}

/**
 * The lanes' pipelined connections, one per lane, each opened at its first statement (with the lane
 * pool's startup options) and opened again after it fails: the statements it had in flight fail
 * with it, and their lane retries them as after any error.
 */
function lanePipelines(url: string, options: string | undefined) {
  const clients = new Map<number, Promise<pg.Client>>();
  const clientOf = (lane: number) => {
    let client = clients.get(lane);
    if (!client) {
      const c = new pg.Client({ connectionString: url, pipeline: true, ...(options ? { options } : {}) });
      const forget = () => clients.get(lane) === client && clients.delete(lane);
      c.on("error", forget);
      c.on("end", forget);
      client = c.connect().then(() => c);
      client.catch(forget);
      clients.set(lane, client);
    }
    return client;
  };
  return {
    query:
      (lane: number): Query =>
      async <T,>(text: string, params?: unknown[], opts?: { prepare?: string }) => {
        const client = await clientOf(lane);
        const r = opts?.prepare ? await client.query({ name: opts.prepare, text, values: params }) : await client.query(text, params);
        return { rows: r.rows as T[] };
      },
    end: async () => {
      const open = [...clients.values()];
      clients.clear();
      await Promise.all(open.map(async (c) => (await c.catch(() => null))?.end()));
    },
  };
}

/** Raw SQL and transactions on a pool's connections. */
function access(pool: pg.Pool): Pick<Database, "query" | "transaction"> {
  return {
    query: async <T,>(text: string, params?: unknown[], opts?: { prepare?: string }) => {
      const r = opts?.prepare ? await pool.query({ name: opts.prepare, text, values: params }) : await pool.query(text, params);
      return { rows: r.rows as T[] };
    },
    transaction: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(async <T,>(text: string, params?: unknown[], opts?: { prepare?: string }) => {
          const r = opts?.prepare ? await client.query({ name: opts.prepare, text, values: params }) : await client.query(text, params);
          return { rows: r.rows as T[] };
        });
        await client.query("commit");
        return result;
      } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
