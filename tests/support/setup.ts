import { afterEach, beforeEach, vi } from "vitest";

// A console.error during a test is a defect somewhere: fail the test (epic-stack habit).
beforeEach(() => {
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    throw new Error(`console.error called: ${args.map(String).join(" ")}`);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});
