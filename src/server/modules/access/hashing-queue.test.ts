import { describe, expect, it } from "vitest";
import { createHashingQueue } from "./hashing-queue.js";
import { ADDRESS_MAX_FAILURES, FREE_FAILURES, MAX_DELAY_SECONDS, secondsUntilAllowed } from "./sign-in-throttle.js";

/** A task that finishes when the test says so, recording the order tasks started in. */
function gate(started: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { task: async () => (started.push(name), await done, name), open };
}

describe("hashing queue", () => {
  it("runs at most `concurrency` checks at once and serves clients that did not guess before those that did", async () => {
    const queue = createHashingQueue({ concurrency: 1, maxClean: 10, maxSuspect: 10 });
    const started: string[] = [];
    const first = gate(started, "first");
    const guesser = gate(started, "guesser");
    const user = gate(started, "user");
    const running = [queue.run(first.task, { suspect: false }), queue.run(guesser.task, { suspect: true }), queue.run(user.task, { suspect: false })];
    await Promise.resolve();
    expect(queue.stats()).toEqual({ running: 1, clean: 1, suspect: 1 });
    first.open();
    user.open();
    guesser.open();
    expect(await Promise.all(running)).toEqual(["first", "guesser", "user"]);
    expect(started).toEqual(["first", "user", "guesser"]);
  });

  it("refuses a guessing client with 429 when its queue is full, but still queues a client that did not guess", async () => {
    const queue = createHashingQueue({ concurrency: 1, maxClean: 2, maxSuspect: 1 });
    const started: string[] = [];
    const gates = ["a", "b", "c"].map((n) => gate(started, n));
    const runs = [queue.run(gates[0]!.task, { suspect: true }), queue.run(gates[1]!.task, { suspect: true })];
    await expect(queue.run(() => Promise.resolve("refused"), { suspect: true })).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 1 });
    const clean = queue.run(gates[2]!.task, { suspect: false });
    for (const g of gates) g.open();
    expect(await Promise.all([...runs, clean])).toEqual(["a", "b", "c"]);
    expect(queue.stats()).toEqual({ running: 0, clean: 0, suspect: 0 });
  });

  it("frees its slot when a check fails", async () => {
    const queue = createHashingQueue({ concurrency: 1 });
    await expect(queue.run(() => Promise.reject(new Error("scrypt failed")), { suspect: false })).rejects.toThrow("scrypt failed");
    expect(await queue.run(() => Promise.resolve("next"), { suspect: false })).toBe("next");
  });
});

describe("sign-in delays", () => {
  const none = { pair: 0, pairLastAgeSeconds: null, address: 0, addressOldestAgeSeconds: null };
  it("allows FREE_FAILURES guesses, then doubles the wait after each further failure, up to the cap", () => {
    expect(secondsUntilAllowed({ ...none, pair: FREE_FAILURES - 1, pairLastAgeSeconds: 0 })).toBe(0);
    expect([0, 1, 2, 3, 4].map((extra) => secondsUntilAllowed({ ...none, pair: FREE_FAILURES + extra, pairLastAgeSeconds: 0 }))).toEqual([1, 2, 4, 8, 16]);
    expect(secondsUntilAllowed({ ...none, pair: FREE_FAILURES + 2, pairLastAgeSeconds: 3 })).toBe(1);
    expect(secondsUntilAllowed({ ...none, pair: FREE_FAILURES + 2, pairLastAgeSeconds: 4 })).toBe(0);
    expect(secondsUntilAllowed({ ...none, pair: FREE_FAILURES + 40, pairLastAgeSeconds: 0 })).toBe(MAX_DELAY_SECONDS);
  });

  it("stops an address at ADDRESS_MAX_FAILURES across accounts until its oldest failure leaves the window", () => {
    expect(secondsUntilAllowed({ ...none, address: ADDRESS_MAX_FAILURES - 1, addressOldestAgeSeconds: 60 })).toBe(0);
    expect(secondsUntilAllowed({ ...none, address: ADDRESS_MAX_FAILURES, addressOldestAgeSeconds: 60 })).toBe(15 * 60 - 60);
  });
});
