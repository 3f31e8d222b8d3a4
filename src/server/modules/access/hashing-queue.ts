import { AppError } from "../../errors.js";

/**
 * Who is asking, in the order they are served:
 * - `trusted`: a browser that signed in to this account before (a valid device cookie);
 * - `clean`: an address with no recent failure here;
 * - `suspect`: an address that failed here recently.
 */
export type SignInLane = "trusted" | "clean" | "suspect";

export interface HashingQueue {
  /**
   * Run a password check when a slot is free, trusted clients first, then clean, then suspect.
   * A suspect client is refused (429) when `maxSuspect` of them already wait; a clean client when
   * the queue ahead of it already holds `maxCleanWaitMs` of work (at least 4 places: a flood of fresh
   * addresses is refused, not queued for minutes); a trusted client is never refused.
   */
  run<T>(task: () => Promise<T>, opts: { lane: SignInLane }): Promise<T>;
  /** Checks running and waiting, and the estimated time of one check (for tests and benches). */
  stats(): { running: number; trusted: number; clean: number; suspect: number; checkMs: number };
}

const MIN_CLEAN = 4;
const refused = () => new AppError("rate_limited", "Too many sign-in attempts right now. Try again in a moment.", { retryAfterSeconds: 1 });

/**
 * The global ceiling on sign-in work (the password check with its queries): scrypt is CPU- and
 * memory-heavy, so at most `concurrency` sign-ins run at once in this process and the rest wait
 * in three bounded queues. A flood is mostly answered 429 at once instead of taking the CPU, and a
 * client that did not guess is served before every client that did.
 */
export function createHashingQueue({ concurrency = 1, maxCleanWaitMs = 2_000, maxSuspect = 8 } = {}): HashingQueue {
  let running = 0;
  // A moving average of how long one check takes here (the machine may be loaded).
  let checkMs = 100;
  const queues: Record<SignInLane, (() => void)[]> = { trusted: [], clean: [], suspect: [] };

  const release = () => {
    running--;
    const next = queues.trusted.shift() ?? queues.clean.shift() ?? queues.suspect.shift();
    if (next) {
      running++;
      next();
    }
  };
  const full = (lane: SignInLane) => {
    if (lane === "trusted") return false;
    if (lane === "suspect") return queues.suspect.length >= maxSuspect;
    // Room for maxCleanWaitMs of work at the measured pace, and never less than MIN_CLEAN places: a
    // slow machine must not refuse the few clean clients of a flood from known addresses.
    return queues.trusted.length + queues.clean.length >= Math.max(MIN_CLEAN, Math.floor((maxCleanWaitMs * concurrency) / checkMs));
  };

  return {
    async run(task, { lane }) {
      if (running >= concurrency) {
        if (full(lane)) throw refused();
        await new Promise<void>((resolve) => queues[lane].push(resolve));
      } else {
        running++;
      }
      const started = performance.now();
      try {
        return await task();
      } finally {
        checkMs = 0.8 * checkMs + 0.2 * (performance.now() - started);
        release();
      }
    },
    stats: () => ({ running, trusted: queues.trusted.length, clean: queues.clean.length, suspect: queues.suspect.length, checkMs }),
  };
}
