import { AppError } from "../../errors.js";

export interface HashingQueue {
  /**
   * Run a password check when a slot is free. Clients whose address has no recent failure go
   * first; a client that has been guessing waits behind them and is refused (429) when too many
   * such checks already wait. Nobody is refused while the queue of clean clients has room.
   */
  run<T>(task: () => Promise<T>, opts: { suspect: boolean }): Promise<T>;
  /** Checks running and waiting (for tests and benches). */
  stats(): { running: number; clean: number; suspect: number };
}

/**
 * The global ceiling on sign-in work (the password check with its queries): scrypt is CPU- and
 * memory-heavy, so at most `concurrency` sign-ins run at once in this process and the rest wait
 * in two bounded queues. A flood slows
 * answers down (most of all for the clients sending it) instead of taking the CPU, or refusing a
 * correct password from a client that did not guess.
 */
export function createHashingQueue({ concurrency = 2, maxClean = 1000, maxSuspect = 50 } = {}): HashingQueue {
  let running = 0;
  const clean: (() => void)[] = [];
  const suspect: (() => void)[] = [];

  const release = () => {
    running--;
    const next = clean.shift() ?? suspect.shift();
    if (next) {
      running++;
      next();
    }
  };

  return {
    async run(task, { suspect: isSuspect }) {
      if (running >= concurrency) {
        const queue = isSuspect ? suspect : clean;
        if (queue.length >= (isSuspect ? maxSuspect : maxClean)) {
          throw new AppError("rate_limited", "Too many sign-in attempts right now. Try again in a moment.", { retryAfterSeconds: 1 });
        }
        await new Promise<void>((resolve) => queue.push(resolve));
      } else {
        running++;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
    stats: () => ({ running, clean: clean.length, suspect: suspect.length }),
  };
}
