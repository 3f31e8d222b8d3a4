import { describe, expect, it } from "vitest";
import { describeBillingLine } from "./invoice-lines.js";

describe("describeBillingLine: one wording for every invoice line", () => {
  const end = new Date("2026-12-27T09:00:00Z");
  it.each([
    [{ kind: "monthly", packages: 20 }, "Monthly credits · 20 packages (20,000 credits)"],
    [{ kind: "monthly", packages: 1 }, "Monthly credits · 1 package (1,000 credits)"],
    [{ kind: "one_time", packages: 5 }, "One-time credits · 5 packages (5,000 credits)"],
    [{ kind: "one_time", packages: 2, autoTopUp: true }, "One-time credits · 2 packages (2,000 credits) · auto top-up"],
    [{ kind: "plan_raise", addedPackages: 1, planPackages: 3, periodEnd: end }, "Plan raised to 3 packages · 1 added package (1,000 credits) until Dec 27, 2026"],
    [{ kind: "plan_raise", addedPackages: 12, planPackages: 32, periodEnd: end }, "Plan raised to 32 packages · 12 added packages (12,000 credits) until Dec 27, 2026"],
    [{ kind: "plan_proration", planPackages: 3, periodEnd: end }, "Plan changed to 3 packages · prorated to Dec 27, 2026"],
  ] as const)("%o", (line, text) => {
    expect(describeBillingLine(line, 1000)).toBe(text);
  });

  it("uses the configured package size and dates in UTC", () => {
    expect(describeBillingLine({ kind: "one_time", packages: 3 }, 2500)).toBe("One-time credits · 3 packages (7,500 credits)");
    expect(describeBillingLine({ kind: "plan_raise", addedPackages: 1, planPackages: 2, periodEnd: new Date("2027-01-01T00:30:00Z") }, 1000)).toContain("until Jan 1, 2027");
  });
});
