import type { Database, Query } from "../../db/client.js";
import type { Clock } from "../../clock.js";
import { syncPoolControls } from "../controls/pool-state.js";
import { DebitCache, debitUsageBatch, debitUsageOptimistic, NeedsLock, NeedsRead, type UsageEvent, type UsageOutcome } from "../ledger/index.js";

export type { UsageEvent, UsageOutcome };

export type UsageProcessor = ReturnType<typeof createUsageProcessor>;

/** A batch event's result: its outcome, or the unexpected error that failed it alone. */
export type SubmittedOutcome = UsageOutcome | { status: "failed"; error: unknown };

interface Pending {
  event: UsageEvent;
  resolve(o: UsageOutcome): void;
  reject(e: unknown): void;
}

/**
 * Debits usage events in micro-batches: events that arrive while a transaction is running wait
 * for the next one, so one commit (and one set of row locks) serves many events. Each event is
 * still all or nothing, and idempotent by (organization, key) through a unique index.
 *
 * Events are split into lanes by the pool they draw on, so unrelated pools commit in parallel;
 * the lane is only a performance hint: correctness comes from the database.
 *
 * A batch is first debited without row locks (see `debitUsageOptimistic`): planned against what the
 * lane remembers of its websites from its last read and write, for up to `cacheMs` (one round
 * trip: the write, which checks that state), else against a read (two). A remembered plan the
 * write finds stale is planned again against a read; a read plan that a grant no longer covers
 * when it is written (another process debited it meanwhile), or that meets an expired grant, is
 * planned again the locking way, in one transaction that holds the pool's rows. After such a miss
 * the lane debits the locking way for `contendedMs` (processes racing for a pool's last credits
 * take turns instead of spoiling each other's plans), then tries without locks again.
 * `onSyncError` hears of a failed low-balance/top-up sync after a debit without locks (the events
 * are debited; the pool's next debit syncs it again).
 *
 * After a batch of more than one event, the lane waits up to `lingerMs` (never longer than the
 * batch took) for as many events as it just answered, so that callers answered together commit
 * together (group commit). Measured with two API processes on one pool (bench/ab-hot.ts PROCS=2):
 * without it each process's callers split into two halves taking turns at the pool's row lock
 * with the other process's, in batches of 8 instead of 15-16, at half the events per second.
 *
 * With `depth` 2 on PostgreSQL a lane is pipelined instead (`pump`): its callers are shared between
 * two batches, one written while the other's callers are answered and send their next events. The
 * second is planned from the lane's memory as if the first were written (`DebitCache.absorbPlanned`)
 * and sent on the lane's own pipelined connection behind it, so the server starts it the moment the
 * first commits, without the round trip through this process; if the first fails, the second's write
 * finds the state it relied on changed and both are planned again. A batch that must read or lock
 * goes alone, and a lane whose write shows another process's debits of its pool sends one batch at a
 * time for `contendedMs` (their writes would queue at the pool's row locks). Measured in
 * docs/performance.md ("The hot path").
 */
export function createUsageProcessor({
  database,
  clock,
  lanes = 4,
  maxBatch = 1000,
  contendedMs = 1000,
  cacheMs = 1000,
  lingerMs = 2,
  depth = 1,
  onSyncError = () => undefined,
}: {
  /** Raw SQL and transactions: the process's `database.lanes` (client.ts), or a test's wrapper. */
  database: Pick<Database, "query" | "transaction"> & { pipelined?: ((lane: number) => Query) | undefined };
  clock: Clock;
  lanes?: number;
  maxBatch?: number;
  contendedMs?: number;
  cacheMs?: number;
  lingerMs?: number;
  /**
   * Batches of one lane in flight at once, on the lane's pipelined connection (PostgreSQL only;
   * 1 elsewhere): the next batch, planned from the lane's memory as if the ones before it were
   * written, is sent while they are still running, so the server runs it as soon as the one before
   * has committed instead of waiting for the lane to answer that one's callers and hear from them.
   */
  depth?: number;
  onSyncError?: (err: unknown) => void;
}) {
  const pipelined = depth > 1 ? database.pipelined : undefined;
  const queues: Pending[][] = Array.from({ length: lanes }, () => []);
  const running: boolean[] = new Array<boolean>(lanes).fill(false);
  /** What each lane last read and wrote: its next batch of the same websites is planned without a read. */
  const caches = Array.from({ length: lanes }, () => new DebitCache(cacheMs));
  /** Until when (ms) a lane debits the locking way, since another process spoiled one of its plans. */
  const contendedUntil: number[] = new Array<number>(lanes).fill(0);
  /** The pool each website's events draw on (a lane key), cached for 30 s; one lookup per website however many events wait for it. */
  const poolOf = new Map<string, { key: Promise<string>; at: number; lane?: number }>();

  /** The lane of a website's events: at once when its pool is known, else after one lookup. */
  function laneOf(websiteId: string): number | Promise<number> {
    const now = Date.now();
    let hit = poolOf.get(websiteId);
    if (hit && now - hit.at <= 30_000 && hit.lane !== undefined) return hit.lane;
    if (!hit || now - hit.at > 30_000) {
      // The group's pool while its billing is enabled; otherwise the website's own credits are all it
      // can draw on, so its events need not wait behind its group's other websites.
      const key = database
        .query<{ pool: string | null }>(
          `select case when bp.group_id is not null then w.group_id end as pool
             from websites w left join billing_profiles bp on bp.group_id = w.group_id where w.id = $1`,
          [websiteId],
        )
        .then(({ rows }) => rows[0]?.pool ?? websiteId);
      hit = { key, at: now };
      if (poolOf.size > 100_000) poolOf.clear();
      poolOf.set(websiteId, hit);
      key.catch(() => poolOf.delete(websiteId));
    }
    const found = hit;
    return hit.key.then((k) => {
      let h = 0;
      for (let i = 0; i < k.length; i++) h = (h * 31 + k.charCodeAt(i)) | 0;
      return (found.lane = Math.abs(h) % lanes);
    });
  }

  /** A lane waiting for its queue to hold `want` events (see drain). */
  const lingering: ({ want: number; done: () => void } | null)[] = new Array<null>(lanes).fill(null);
  function linger(lane: number, want: number, ms: number) {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        lingering[lane] = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      lingering[lane] = { want, done };
    });
  }

  async function drain(lane: number) {
    if (running[lane]) return;
    running[lane] = true;
    try {
      const queue = queues[lane]!;
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        const started = performance.now();
        await settle(lane, batch);
        // Group commit: the callers just answered are likely to send their next events within a
        // moment; wait for them (never longer than lingerMs, nor than the batch took) so that they
        // share the next commit instead of each half of the callers taking turns with its own.
        if (lingerMs > 0 && batch.length > 1 && queue.length < maxBatch) {
          await linger(lane, Math.min(maxBatch, queue.length + batch.length), Math.min(lingerMs, performance.now() - started));
        }
      }
    } finally {
      running[lane] = false;
    }
  }

  /** Pipelined lanes (`depth` > 1): batches in flight, their events, and the callers in the lane when one last came back. */
  const inFlight: number[] = new Array<number>(lanes).fill(0);
  const inFlightEvents: number[] = new Array<number>(lanes).fill(0);
  const active: number[] = new Array<number>(lanes).fill(0);
  const sendTimers: (NodeJS.Timeout | null)[] = new Array<null>(lanes).fill(null);
  /** Until when (ms) a pipelined lane sends one batch at a time, since another process's debit of its pool showed in a write. */
  const sharedUntil: number[] = new Array<number>(lanes).fill(0);
  /** A pipelined lane's batch is reading or locking: nothing else is sent until it is done. */
  const alone: boolean[] = new Array<boolean>(lanes).fill(false);
  /** Each pipelined lane's batch sent last (see processWithRetry's `before`). */
  const lastSent: (Promise<void> | undefined)[] = new Array<undefined>(lanes).fill(undefined);

  /**
   * A pipelined lane sends a batch when it holds its share of the lane's callers (those in flight and
   * waiting, shared among `depth` batches), so that one is answered while the next is written; with
   * nothing in flight, after lingerMs at most.
   */
  function pump(lane: number) {
    const queue = queues[lane]!;
    // One batch at a time while another process writes the pool too: its writes would wait for the
    // lane's row locks between them, and each re-check costs the server more than the overlap gains.
    const lanesDepth = Date.now() < sharedUntil[lane]! ? 1 : depth;
    // A batch that reads or locks goes alone: one sent after it would be written before its read's plan.
    while (queue.length > 0 && inFlight[lane]! < lanesDepth && !alone[lane]) {
      if (queue.length < Math.ceil(active[lane]! / lanesDepth)) {
        if (inFlight[lane] === 0 && !sendTimers[lane]) {
          sendTimers[lane] = setTimeout(() => {
            sendTimers[lane] = null;
            active[lane] = 0;
            pump(lane);
          }, lingerMs);
        }
        return;
      }
      if (sendTimers[lane]) {
        clearTimeout(sendTimers[lane]);
        sendTimers[lane] = null;
      }
      const batch = queue.splice(0, maxBatch);
      inFlight[lane]!++;
      inFlightEvents[lane]! += batch.length;
      const run = settle(lane, batch, pipelined!(lane), lastSent[lane]);
      lastSent[lane] = run;
      void run.finally(() => {
        active[lane] = inFlightEvents[lane]! + queue.length;
        inFlight[lane]!--;
        inFlightEvents[lane]! -= batch.length;
        pump(lane);
      });
    }
  }

  /** One batch's outcomes to its callers; a batch that failed goes again one event at a time. */
  async function settle(lane: number, batch: Pending[], query?: Query, before?: Promise<void>) {
    try {
      const outcomes = await processWithRetry(lane, batch.map((p) => p.event), query, before);
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      // One poison event must not fail its neighbours (or another tenant's): each goes alone.
      else for (const p of batch) await processWithRetry(lane, [p.event]).then((o) => p.resolve(o[0]!), (e: unknown) => p.reject(e));
    }
  }

  /**
   * `pipelinedQuery`: the lane's pipelined connection, for a batch planned from the lane's memory;
   * `before`: the lane's batch sent before this one, which a batch that must read or lock waits for
   * (its read would miss that batch's debits, and its write would wait for that batch's row locks).
   */
  async function processWithRetry(
    lane: number,
    events: UsageEvent[],
    pipelinedQuery?: Query,
    before?: Promise<void>,
    start: { from: "cache" | "read" | "lock"; attempt: number } = { from: Date.now() < contendedUntil[lane]! ? "lock" : "cache", attempt: 1 },
  ): Promise<UsageOutcome[]> {
    const cache = caches[lane]!;
    // The lane's remembered state first (one round trip), then a read without locks (two), then locking.
    let from = start.from;
    for (let attempt = start.attempt; ; attempt++) {
      if (from !== "cache" && pipelinedQuery) {
        // On the lane's pool connections from here, with nothing else of the lane sent meanwhile.
        alone[lane] = true;
        try {
          return await processWithRetry(lane, events, undefined, before, { from, attempt });
        } finally {
          alone[lane] = false;
        }
      }
      if (from !== "cache" && before) {
        await before;
        before = undefined;
      }
      const now = clock();
      try {
        if (from !== "lock") {
          const query = from === "cache" && pipelinedQuery ? pipelinedQuery : database.query;
          const { outcomes, poolsToSync, shared } = await debitUsageOptimistic(query, events, now, { from, cache });
          if (shared) sharedUntil[lane] = Date.now() + contendedMs;
          if (poolsToSync.length > 0) await database.transaction((query) => syncPoolControls(query, poolsToSync, now)).catch(onSyncError);
          return outcomes;
        }
        cache.clear(); // the locking debit may write grants off: remember nothing from before it
        return await database.transaction((query) => debitUsageBatch(query, events, now));
      } catch (err) {
        if (err instanceof NeedsRead) {
          from = "read";
          continue;
        }
        if (err instanceof NeedsLock) {
          from = "lock";
          continue;
        }
        const code = (err as { code?: string }).code;
        // 40001: a plan that a grant or cap no longer allows, a key used meanwhile or a state that
        // changed (usage_plan_stale).
        const retryable = code === "40P01" || code === "40001" || code === "23505";
        if (!retryable || attempt >= 7) throw err;
        cache.clear();
        if (from === "cache") from = "read";
        else if (from === "read") {
          if (code === "40001") contendedUntil[lane] = Date.now() + contendedMs;
          from = "lock";
        }
      }
    }
  }

  /** New events are in the lane's queue: end its wait for them (see drain) and make sure it runs. */
  function wake(lane: number) {
    if (pipelined) return pump(lane);
    const waiting = lingering[lane];
    if (waiting && queues[lane]!.length >= waiting.want) waiting.done();
    void drain(lane);
  }

  async function enqueue(events: UsageEvent[]): Promise<PromiseSettledResult<UsageOutcome>[]> {
    const lanesOf = await Promise.all(events.map(async (e) => laneOf(e.websiteId)));
    const promises = events.map(
      (event, i) =>
        new Promise<UsageOutcome>((resolve, reject) => {
          queues[lanesOf[i]!]!.push({ event, resolve, reject });
        }),
    );
    for (const lane of new Set(lanesOf)) wake(lane);
    return Promise.allSettled(promises);
  }

  return {
    /** One event: its outcome, or the error that failed it (the hot path: no arrays, one promise). */
    submit: async (event: UsageEvent) => {
      const found = laneOf(event.websiteId);
      const lane = typeof found === "number" ? found : await found;
      const outcome = new Promise<UsageOutcome>((resolve, reject) => queues[lane]!.push({ event, resolve, reject }));
      wake(lane);
      return outcome;
    },
    /**
     * Many events, one result each: an event whose processing failed even alone (after its lane
     * retried it by itself) gets its own `failed` result with the error, and never fails the others.
     */
    submitMany: async (events: UsageEvent[]): Promise<SubmittedOutcome[]> =>
      (await enqueue(events)).map((s) => (s.status === "fulfilled" ? s.value : { status: "failed", error: s.reason as unknown })),
  };
}
