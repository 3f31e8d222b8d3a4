import type { PurchaseType } from "../contracts/billing.js";
import type { Money } from "../contracts/common.js";

/** Packages per purchase: enforced here, on the server, not only by the page. */
export const MIN_PACKAGES = 1;
export const MAX_PACKAGES = 50;

export type PackagePricing = { creditsPerPackage: number; oneTime: Money; monthly: Money };

export type PurchaseQuote = { credits: number; unitAmount: number; total: Money };

function assertInteger(value: number, min: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * What a purchase of `quantity` packages grants and costs, in integer credits and minor units.
 * Throws RangeError unless `quantity` is an integer from 1 to 50, or if the pricing is not
 * whole numbers (credits per package >= 1, price >= 0).
 */
export function quotePurchase({
  type,
  quantity,
  pricing,
}: {
  type: PurchaseType;
  quantity: number;
  pricing: PackagePricing;
}): PurchaseQuote {
  if (!Number.isInteger(quantity) || quantity < MIN_PACKAGES || quantity > MAX_PACKAGES) {
    throw new RangeError(`quantity must be an integer from ${MIN_PACKAGES} to ${MAX_PACKAGES}, got ${quantity}`);
  }
  const price = type === "monthly" ? pricing.monthly : pricing.oneTime;
  assertInteger(pricing.creditsPerPackage, 1, "creditsPerPackage");
  assertInteger(price.amount, 0, "price amount");
  const credits = quantity * pricing.creditsPerPackage;
  const amount = quantity * price.amount;
  assertInteger(credits, 1, "credits");
  assertInteger(amount, 0, "total amount");
  return { credits, unitAmount: price.amount, total: { amount, currency: price.currency } };
}
