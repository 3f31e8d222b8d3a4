import type { PoolClient } from "pg";
import type { Logger } from "pino";
import type { Database } from "../../db/client.js";
import { sha256 } from "./tokens.js";

/** `lastUsedAt` is written at most this often per key (and process). */
export const LAST_USED_EVERY_MS = 5 * 60_000;
/** Belt and braces: even with notifications, an entry is re-read after this long. */
const MAX_ENTRY_AGE_MS = 60_000;
const CHANNEL = "api_keys_changed";

interface Entry {
  keyId: string;
  orgId: string;
  checkedAt: number;
  lastUsedAt: number;
}

/** A key as the cache knows it; `confirmed` false: the caller must check it in its own transaction. */
export interface CachedKey {
  orgId: string;
  keyId: string;
  confirmed: boolean;
}

export interface ApiKeyVerifier {
  /** The key's organization, or null for an unknown or revoked key. */
  verify(key: string): Promise<string | null>;
  /**
   * The same, without the catch-up round trip on a cache hit: the answer may miss a revocation
   * still on its way, so the caller confirms the key (`confirmed: false`) in the transaction it
   * runs anyway — the debit path does, in its first statement (ledger/debit-usage.ts).
   */
  verifyInTransaction(key: string): Promise<CachedKey | null>;
  close(): Promise<void>;
}

/**
 * Which organization an API key belongs to, without reading the key per request: keys are cached,
 * and every change of a key (revoked, deleted; migration 0002's triggers) is announced with
 * `NOTIFY api_keys_changed` at commit, which every process LISTENs to.
 *
 * A notification can still be on its way when the next request arrives, so a cache hit waits for
 * one round trip on the listening connection that started after the request came in: PostgreSQL
 * delivers every notification committed before that `select 1` ahead of its answer. Concurrent
 * requests share one such round trip (no pool connection, no query on api_keys). While the
 * listening connection is down nothing is cached. PGlite is one process: its `listen` callbacks
 * run before the revoking statement returns, so no round trip is needed.
 */
export function createApiKeyVerifier({ database, logger }: { database: Database; logger: Logger }): ApiKeyVerifier {
  const cache = new Map<string, Entry>();
  /** Bumped by every notification: a read that started before one must not be cached. */
  let generation = 0;
  let listening = false;
  let closed = false;
  let listener: PoolClient | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let retry: NodeJS.Timeout | null = null;
  let waiting: { resolve(): void; reject(e: unknown): void }[] = [];
  let pinging = false;

  /** Resolves once every notification committed before the call has been handled. */
  function caughtUp(): Promise<void> {
    return new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      if (!pinging) void ping();
    });
  }
  async function ping() {
    pinging = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        if (!listener) throw new Error("not listening");
        await listener.query("select 1");
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    pinging = false;
  }

  const onChange = (keyHash: string | undefined) => {
    generation++;
    if (keyHash) cache.delete(keyHash);
    else cache.clear();
  };
  const lost = () => {
    listening = false;
    generation++;
    cache.clear();
  };

  async function listen() {
    if (closed) return;
    try {
      if (database.pglite) {
        unlisten = await database.pglite.listen(CHANNEL, (payload) => onChange(payload));
      } else if (database.pool) {
        const client = await database.pool.connect();
        listener = client;
        client.on("notification", (n) => onChange(n.payload));
        client.on("error", () => {
          // Only the client we still hold is ours to release: once close() or the catch below gave it
          // back, the pool owns it (and its own error handling).
          if (listener !== client) return;
          lost();
          listener = null;
          client.release(true);
          scheduleRetry();
        });
        await client.query(`LISTEN ${CHANNEL}`);
      }
      // Anything cached before (re)connecting may have missed a notification.
      lost();
      listening = true;
    } catch {
      lost();
      if (listener) {
        listener.release(true);
        listener = null;
      }
      scheduleRetry();
    }
  }
  function scheduleRetry() {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void listen();
    }, 1000);
    retry.unref();
  }
  void listen();

  function touch(entry: Entry, now: number) {
    if (now - entry.lastUsedAt < LAST_USED_EVERY_MS) return;
    entry.lastUsedAt = now;
    // Coarse on purpose: one conditional write per key every few minutes, whichever process is first.
    database
      .query(`update api_keys set last_used_at = now() where id = $1 and (last_used_at is null or last_used_at < now() - make_interval(secs => $2))`, [
        entry.keyId,
        LAST_USED_EVERY_MS / 1000,
      ])
      .catch((err: unknown) => logger.debug({ errClass: (err as Error)?.constructor?.name }, "could not record an API key's last use"));
  }

  /**
   * Each presented key's hash, so that a busy key is hashed once, not per request (sha256 was ~6 % of
   * the API process's CPU on the hot usage path, bench/prof-hot.ts). A hash never goes stale; only
   * the cache below is invalidated. Bounded as the cache is.
   */
  const hashes = new Map<string, string>();
  function hashOf(key: string) {
    let h = hashes.get(key);
    if (h === undefined) {
      if (hashes.size >= 10_000) hashes.clear();
      hashes.set(key, (h = sha256(key)));
    }
    return h;
  }

  async function check(key: string, waitForNotifications: boolean): Promise<CachedKey | null> {
    const keyHash = hashOf(key);
    const now = Date.now();
    const hit = cache.get(keyHash);
    if (hit && listening && now - hit.checkedAt < MAX_ENTRY_AGE_MS) {
      const ready = database.pool && waitForNotifications ? await caughtUp().then(() => true, () => false) : true;
      if (ready && listening && cache.get(keyHash) === hit) {
        touch(hit, now);
        // Without the catch-up round trip only PGlite (notified synchronously) is sure.
        return { orgId: hit.orgId, keyId: hit.keyId, confirmed: waitForNotifications || !database.pool };
      }
    }
    const before = generation;
    const { rows } = await database.query<{ id: string; org_id: string; last_used_at: Date | string | null }>(
      "select id, org_id, last_used_at from api_keys where key_hash = $1 and revoked_at is null",
      [keyHash],
      { prepare: "api_key_by_hash_v1" },
    );
    const row = rows[0];
    if (!row) {
      cache.delete(keyHash);
      return null;
    }
    const entry: Entry = { keyId: row.id, orgId: row.org_id, checkedAt: now, lastUsedAt: row.last_used_at ? new Date(row.last_used_at).getTime() : 0 };
    if (listening && generation === before) {
      if (cache.size >= 10_000) cache.clear();
      cache.set(keyHash, entry);
    }
    touch(entry, now);
    return { orgId: row.org_id, keyId: row.id, confirmed: true };
  }

  return {
    async verify(key) {
      return (await check(key, true))?.orgId ?? null;
    },
    verifyInTransaction: (key) => check(key, false),
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await unlisten?.().catch(() => undefined);
      const client = listener;
      if (client) {
        await client.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
        // The error handler may have released it while UNLISTEN was under way.
        if (listener === client) {
          listener = null;
          client.release();
        }
      }
    },
  };
}
