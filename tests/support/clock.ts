import type { Clock } from "../../src/server/clock.js";

export interface TestClock extends Clock {
  /** From now on, the server's "now" is this instant (until set again or reset). */
  set(at: Date | number): void;
  /** Back to the wall clock. */
  reset(): void;
}

/** The server's clock in tests: the wall clock until a test sets it, so time boundaries are exact. */
export function createTestClock(): TestClock {
  let fixed: number | null = null;
  const clock = (() => new Date(fixed ?? Date.now())) as TestClock;
  clock.set = (at) => {
    fixed = typeof at === "number" ? at : at.getTime();
  };
  clock.reset = () => {
    fixed = null;
  };
  return clock;
}
