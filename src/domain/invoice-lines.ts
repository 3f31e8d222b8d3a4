/**
 * How every billing line reads in the billing history, Stripe and partner alike (issue 12): one
 * wording, written here only. The providers' own texts are never shown; each invoice is first
 * classified from its facts (our purchase, the subscription, metadata), then worded by
 * `describeBillingLine`.
 *
 *   Monthly credits · 20 packages (20,000 credits)
 *   One-time credits · 5 packages (5,000 credits)
 *   One-time credits · 2 packages (2,000 credits) · auto top-up
 *   Plan raised to 3 packages · 1 added package (1,000 credits) until Dec 27, 2026
 *   Plan changed to 3 packages · prorated to Dec 27, 2026          (a Stripe proration, if any)
 */

export type BillingLine =
  /** A plan's period: its first month (Checkout) or a renewal. */
  | { kind: "monthly"; packages: number }
  | { kind: "one_time"; packages: number; autoTopUp?: boolean }
  /** Packages added to a running plan, charged at full price for the rest of its period (credits.md). */
  | { kind: "plan_raise"; addedPackages: number; planPackages: number; periodEnd: Date }
  /** Stripe's own prorated quantity change (only for subscriptions changed outside our raise). */
  | { kind: "plan_proration"; planPackages: number; periodEnd: Date };

const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const day = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });

const packagesOf = (n: number) => `${count.format(n)} ${n === 1 ? "package" : "packages"}`;
const creditsOf = (packages: number, creditsPerPackage: number) => `${count.format(packages * creditsPerPackage)} credits`;

/** "Dec 27, 2026" (UTC, as the page shows dates). */
export const formatBillingDate = (date: Date) => day.format(date);

export function describeBillingLine(line: BillingLine, creditsPerPackage: number): string {
  switch (line.kind) {
    case "monthly":
      return `Monthly credits · ${packagesOf(line.packages)} (${creditsOf(line.packages, creditsPerPackage)})`;
    case "one_time":
      return `One-time credits · ${packagesOf(line.packages)} (${creditsOf(line.packages, creditsPerPackage)})${line.autoTopUp ? " · auto top-up" : ""}`;
    case "plan_raise":
      return `Plan raised to ${packagesOf(line.planPackages)} · ${line.addedPackages === 1 ? "1 added package" : `${count.format(line.addedPackages)} added packages`} (${creditsOf(line.addedPackages, creditsPerPackage)}) until ${formatBillingDate(line.periodEnd)}`;
    case "plan_proration":
      return `Plan changed to ${packagesOf(line.planPackages)} · prorated to ${formatBillingDate(line.periodEnd)}`;
  }
}
