import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { creditsError, formatDate, formatMoney, formatMonth, formatNumber, parseCredits } from "./format.js";

// What the page wrote before it built the common cases itself: Intl's en-US, in UTC.
const intl = {
  number: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
  date: new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }),
  month: new Intl.DateTimeFormat("en-US", { year: "numeric", month: "long", timeZone: "UTC" }),
  money: (currency: string, amount: number) => {
    const f = new Intl.NumberFormat("en-US", { style: "currency", currency });
    return f.format(amount / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  },
};
// Years before 1 are written with an era ("1 BC"): those go to Intl.
const dates = fc.date({ min: new Date("-000500-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true });
const months = fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true });

describe("formatting, as Intl writes it in en-US", () => {
  it("writes integers and other numbers the same", () => {
    const notMinusZero = (n: number) => !Object.is(n, -0);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -1e12, max: 1e12 }), fc.maxSafeInteger(), fc.double()).filter(notMinusZero), (n) => formatNumber(n) === intl.number.format(n)),
    );
    // The one difference: Intl writes -0 as "-0" (a credit balance never shows that).
    expect(formatNumber(-0)).toBe("0");
    expect(formatMoney({ amount: -0, currency: "usd" })).toBe("$0.00");
    expect(formatNumber(1234567)).toBe("1,234,567");
    expect(formatNumber(-1000)).toBe("-1,000");
  });

  it("writes money in every currency the same", () => {
    fc.assert(
      fc.property(fc.constantFrom("usd", "EUR", "gbp", "jpy", "cad", "chf", "sek"), fc.integer({ min: -1e11, max: 1e11 }), (currency, amount) => {
        expect(formatMoney({ amount, currency })).toBe(intl.money(currency.toUpperCase(), amount));
      }),
    );
    expect(formatMoney({ amount: 2400, currency: "usd" })).toBe("$24.00");
    expect(formatMoney({ amount: -123456, currency: "eur" })).toBe("-€1,234.56");
    expect(formatMoney({ amount: 1000, currency: "jpy" })).toBe("¥1,000");
  });

  it("writes dates and months in UTC the same, in the years before 1 too", () => {
    fc.assert(fc.property(dates, (d) => formatDate(d.toISOString()) === intl.date.format(d)));
    fc.assert(fc.property(months, (d) => formatMonth(d.toISOString().slice(0, 7)) === intl.month.format(d)));
    expect(formatDate("2026-12-01T00:00:00Z")).toBe("Dec 1, 2026");
    expect(formatDate("2026-11-30T23:30:00-05:00")).toBe("Dec 1, 2026");
    expect(formatMonth("2026-11")).toBe("November 2026");
    expect(formatDate("not a date")).toBe("not a date");
    for (const iso of ["0000-06-01T00:00:00Z", "-000001-06-01T00:00:00Z", "0999-01-01T00:00:00Z"]) expect(formatDate(iso)).toBe(intl.date.format(new Date(iso)));
    expect(formatMonth("0099-12")).toBe("December 99");
  });
});

describe("credits fields", () => {
  it("reads whole numbers, with or without thousands separators, and nothing else", () => {
    expect(["1000", "1,000", "1 000", " 250 ", "0", "1,000,000,000"].map(parseCredits)).toEqual([1000, 1000, 1000, 250, 0, 1_000_000_000]);
    for (const bad of ["1e3", "0x10", "1.5", "-1", "1,00", "12,3456", "+5", "five", "1_000"]) expect(parseCredits(bad), bad).toBeNaN();
    expect(parseCredits("  ")).toBeNull();
  });

  it("says what is wrong in the page's words, the API's limit included", () => {
    expect(creditsError(null)).toBe("Enter a whole number of credits.");
    expect(creditsError(null, false)).toBeNull();
    expect(creditsError(NaN)).toBe("Enter a whole number of credits.");
    expect(creditsError(1_000_000_001)).toBe("At most 1,000,000,000 credits.");
    expect(creditsError(1_000_000_000)).toBeNull();
    expect(creditsError(0)).toBeNull();
  });
});
