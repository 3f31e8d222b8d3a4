import { describe, expect, it } from "vitest";
import { createHashingQueue } from "./hashing-queue.js";
import { ADDRESS_MAX_FAILURES, FREE_FAILURES, MAX_DELAY_SECONDS, secondsUntilAllowed, throttleKey, waitsAfterFailure } from "./sign-in-throttle.js";

/** A task that finishes when the test says so, recording the order tasks started in. */
function gate(started: string[], name: string) {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { task: async () => (started.push(name), await done, name), open };
}

describe("hashing queue", () => {
  it("runs at most `concurrency` checks at once: trusted devices first, then clients that did not guess, then those that did", async () => {
    const queue = createHashingQueue({ concurrency: 1, maxCleanWaitMs: 10_000, maxSuspect: 10 });
    const started: string[] = [];
    const first = gate(started, "first");
    const guesser = gate(started, "guesser");
    const user = gate(started, "user");
    const device = gate(started, "device");
    const running = [
      queue.run(first.task, { lane: "clean" }),
      queue.run(guesser.task, { lane: "suspect" }),
      queue.run(user.task, { lane: "clean" }),
      queue.run(device.task, { lane: "trusted" }),
    ];
    await Promise.resolve();
    expect(queue.stats()).toMatchObject({ running: 1, trusted: 1, clean: 1, suspect: 1 });
    for (const g of [first, user, guesser, device]) g.open();
    expect(await Promise.all(running)).toEqual(["first", "guesser", "user", "device"]);
    expect(started).toEqual(["first", "device", "user", "guesser"]);
  });

  it("refuses (429) a guessing client when its queue is full, and a clean one when the clean queue holds more than maxCleanWaitMs of work; never a trusted device", async () => {
    // Each check is estimated at 100 ms until measured: 5 clean ones fit in 500 ms, a 6th does not.
    const queue = createHashingQueue({ concurrency: 1, maxCleanWaitMs: 500, maxSuspect: 1 });
    const started: string[] = [];
    const gates = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"].map((n) => gate(started, n));
    const runs = [queue.run(gates[0]!.task, { lane: "suspect" }), queue.run(gates[1]!.task, { lane: "suspect" })];
    await expect(queue.run(() => Promise.resolve("refused"), { lane: "suspect" })).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 1 });
    runs.push(...[2, 3, 4, 5, 6].map((i) => queue.run(gates[i]!.task, { lane: "clean" })));
    await expect(queue.run(() => Promise.resolve("refused"), { lane: "clean" })).rejects.toMatchObject({ code: "rate_limited" });
    runs.push(...[7, 8, 9].map((i) => queue.run(gates[i]!.task, { lane: "trusted" })));
    expect(queue.stats()).toMatchObject({ running: 1, trusted: 3, clean: 5, suspect: 1 });
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    expect(queue.stats()).toMatchObject({ running: 0, trusted: 0, clean: 0, suspect: 0 });
  });

  it("keeps 4 places for clean clients however slow checks are", async () => {
    const queue = createHashingQueue({ concurrency: 1, maxCleanWaitMs: 1 });
    const started: string[] = [];
    const gates = ["a", "b", "c", "d", "e"].map((n) => gate(started, n));
    const runs = gates.map((g) => queue.run(g.task, { lane: "clean" }));
    await expect(queue.run(() => Promise.resolve("refused"), { lane: "clean" })).rejects.toMatchObject({ code: "rate_limited" });
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("frees its slot when a check fails", async () => {
    const queue = createHashingQueue({ concurrency: 1 });
    await expect(queue.run(() => Promise.reject(new Error("scrypt failed")), { lane: "clean" })).rejects.toThrow("scrypt failed");
    expect(await queue.run(() => Promise.resolve("next"), { lane: "clean" })).toBe("next");
  });
});

describe("throttle keys", () => {
  it("keys an IPv4 address as itself and an IPv6 address by its /64, whatever its spelling", () => {
    expect(throttleKey("203.0.113.7")).toBe("203.0.113.7");
    const net = "2001:db8:85a3:42::/64";
    for (const a of ["2001:db8:85a3:42::1", "2001:0db8:85a3:0042:ffff:ffff:ffff:fffe", "2001:DB8:85A3:42:0:0:0:9", "2001:db8:85a3:42::10.1.2.3", "2001:db8:85a3:42::1%eth0"]) {
      expect([a, throttleKey(a)]).toEqual([a, net]);
    }
    expect(throttleKey("2001:db8:85a3:43::1")).toBe("2001:db8:85a3:43::/64");
    expect(throttleKey("::1")).toBe("0:0:0:0::/64");
    expect(throttleKey("fe80::1")).toBe("fe80:0:0:0::/64");
    // Not an address (a forged header through a sloppy proxy): kept as it is.
    expect(throttleKey("1:2:3::4::5")).toBe("1:2:3::4::5");
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

  it("knows after a failure what the database will say about the next attempt", () => {
    expect(waitsAfterFailure({ ...none, pair: FREE_FAILURES - 2, pairLastAgeSeconds: 5 }).pair).toBeLessThanOrEqual(0);
    expect(waitsAfterFailure({ ...none, pair: FREE_FAILURES - 1, pairLastAgeSeconds: 5 }).pair).toBe(1);
    expect(waitsAfterFailure({ ...none, pair: FREE_FAILURES + 2, pairLastAgeSeconds: 5 }).pair).toBe(8);
    expect(waitsAfterFailure({ ...none, address: ADDRESS_MAX_FAILURES - 1, addressOldestAgeSeconds: 60 }).address).toBe(15 * 60 - 60);
    expect(waitsAfterFailure({ ...none, address: ADDRESS_MAX_FAILURES - 2, addressOldestAgeSeconds: 60 }).address).toBeLessThanOrEqual(0);
  });

  it("stops an address at ADDRESS_MAX_FAILURES across accounts until its oldest failure leaves the window", () => {
    expect(secondsUntilAllowed({ ...none, address: ADDRESS_MAX_FAILURES - 1, addressOldestAgeSeconds: 60 })).toBe(0);
    expect(secondsUntilAllowed({ ...none, address: ADDRESS_MAX_FAILURES, addressOldestAgeSeconds: 60 })).toBe(15 * 60 - 60);
  });
});
