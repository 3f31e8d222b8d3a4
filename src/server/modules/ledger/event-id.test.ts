import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { timeOrderedId } from "./event-id.js";

const msOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe("timeOrderedId", () => {
  it("is a UUID version 7 carrying its millisecond, with the RFC 9562 variant", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff_ffff }), (ms) => {
        const id = timeOrderedId(ms);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(z.uuid().safeParse(id).success).toBe(true);
        expect(msOf(id)).toBe(ms);
      }),
      { numRuns: 2_000 },
    );
  });

  it("sorts ids of later milliseconds after earlier ones, as text, the order PostgreSQL gives uuids (byte by byte)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff_fffe }), fc.integer({ min: 1, max: 10_000_000 }), (ms, later) => {
        const a = timeOrderedId(ms);
        const b = timeOrderedId(Math.min(ms + later, 0xffff_ffff_ffff));
        expect(a < b).toBe(true);
      }),
    );
  });

  it("draws new random bits for every id of one millisecond", () => {
    const ms = Date.UTC(2026, 10, 28);
    const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(ms)));
    expect(ids.size).toBe(10_000);
  });
});
