import { describe, expect, it } from "vitest";
import { MAX_PACKAGES, MIN_PACKAGES, quotePurchase, type PackagePricing } from "./pricing.js";

const pricing: PackagePricing = {
  creditsPerPackage: 1_000,
  oneTime: { amount: 1_999, currency: "EUR" },
  monthly: { amount: 1_499, currency: "EUR" },
};

describe("quotePurchase", () => {
  it("quotes one-time packages at the one-time price", () => {
    expect(quotePurchase({ type: "one_time", quantity: 3, pricing })).toEqual({
      credits: 3_000,
      unitAmount: 1_999,
      total: { amount: 5_997, currency: "EUR" },
    });
  });

  it("quotes monthly packages at the monthly price", () => {
    expect(quotePurchase({ type: "monthly", quantity: 50, pricing })).toEqual({
      credits: 50_000,
      unitAmount: 1_499,
      total: { amount: 74_950, currency: "EUR" },
    });
  });

  it("uses the configured package size", () => {
    expect(quotePurchase({ type: "one_time", quantity: 1, pricing: { ...pricing, creditsPerPackage: 250 } }).credits).toBe(250);
  });

  it("accepts 1 to 50 packages and nothing else", () => {
    expect(MIN_PACKAGES).toBe(1);
    expect(MAX_PACKAGES).toBe(50);
    for (const quantity of [1, 50]) expect(() => quotePurchase({ type: "monthly", quantity, pricing })).not.toThrow();
    for (const quantity of [0, 51, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => quotePurchase({ type: "one_time", quantity, pricing })).toThrow(RangeError);
    }
  });

  it("rejects pricing that is not whole numbers", () => {
    expect(() => quotePurchase({ type: "one_time", quantity: 1, pricing: { ...pricing, creditsPerPackage: 0 } })).toThrow(RangeError);
    expect(() => quotePurchase({ type: "one_time", quantity: 1, pricing: { ...pricing, oneTime: { amount: 9.99, currency: "EUR" } } })).toThrow(RangeError);
    expect(() => quotePurchase({ type: "monthly", quantity: 1, pricing: { ...pricing, monthly: { amount: -1, currency: "EUR" } } })).toThrow(RangeError);
  });
});
