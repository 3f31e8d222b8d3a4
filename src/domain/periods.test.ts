import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addMonths, monthKey } from "./periods.js";

const utc = (iso: string) => new Date(iso);

describe("addMonths", () => {
  it("moves by calendar months in UTC and keeps the time of day", () => {
    expect(addMonths(utc("2025-01-15T10:20:30.456Z"), 1).toISOString()).toBe("2025-02-15T10:20:30.456Z");
    expect(addMonths(utc("2025-11-30T00:00:00.000Z"), 3).toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(addMonths(utc("2025-03-01T00:00:00.000Z"), -3).toISOString()).toBe("2024-12-01T00:00:00.000Z");
    expect(addMonths(utc("2025-03-01T00:00:00.000Z"), 0).toISOString()).toBe("2025-03-01T00:00:00.000Z");
  });

  it("clamps to the end of a shorter month", () => {
    expect(addMonths(utc("2025-01-31T23:59:59.999Z"), 1).toISOString()).toBe("2025-02-28T23:59:59.999Z");
    expect(addMonths(utc("2024-01-31T08:00:00.000Z"), 1).toISOString()).toBe("2024-02-29T08:00:00.000Z");
    expect(addMonths(utc("2025-03-31T00:00:00.000Z"), 1).toISOString()).toBe("2025-04-30T00:00:00.000Z");
    expect(addMonths(utc("2024-02-29T00:00:00.000Z"), 12).toISOString()).toBe("2025-02-28T00:00:00.000Z");
    expect(addMonths(utc("2000-03-31T00:00:00.000Z"), -1).toISOString()).toBe("2000-02-29T00:00:00.000Z");
    expect(addMonths(utc("2100-03-31T00:00:00.000Z"), -1).toISOString()).toBe("2100-02-28T00:00:00.000Z");
  });

  it("does not change its input", () => {
    const date = utc("2025-01-31T00:00:00.000Z");
    addMonths(date, 1);
    expect(date.toISOString()).toBe("2025-01-31T00:00:00.000Z");
  });

  it("rejects invalid dates and non-integer month counts", () => {
    expect(() => addMonths(new Date(Number.NaN), 1)).toThrow(RangeError);
    expect(() => addMonths(utc("2025-01-01T00:00:00Z"), 1.5)).toThrow(RangeError);
  });

  it("agrees with a day-by-day model: same time, target month, day = min(day, month length)", () => {
    const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
    fc.assert(
      fc.property(
        fc.date({ min: utc("1970-01-01T00:00:00Z"), max: utc("2200-12-31T23:59:59Z"), noInvalidDate: true }),
        fc.integer({ min: -240, max: 240 }),
        (date, n) => {
          const result = addMonths(date, n);
          const total = date.getUTCFullYear() * 12 + date.getUTCMonth() + n;
          expect(result.getUTCFullYear()).toBe(Math.floor(total / 12));
          expect(result.getUTCMonth()).toBe(((total % 12) + 12) % 12);
          expect(result.getUTCDate()).toBe(
            Math.min(date.getUTCDate(), lastDay(result.getUTCFullYear(), result.getUTCMonth())),
          );
          const timeOfDay = (d: Date) => ((d.getTime() % 86_400_000) + 86_400_000) % 86_400_000;
          expect(timeOfDay(result)).toBe(timeOfDay(date));
        },
      ),
    );
  });
});

describe("monthKey", () => {
  it("gives the UTC month as YYYY-MM", () => {
    expect(monthKey(utc("2025-01-31T23:59:59.999Z"))).toBe("2025-01");
    expect(monthKey(utc("2025-02-01T00:00:00.000+01:00"))).toBe("2025-01");
    expect(monthKey(utc("2025-12-01T00:00:00.000Z"))).toBe("2025-12");
    expect(() => monthKey(new Date(Number.NaN))).toThrow(RangeError);
  });
});
