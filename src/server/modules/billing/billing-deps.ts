import type { Logger } from "pino";
import type { PackagePricing } from "../../../domain/pricing.js";
import type { Clock } from "../../clock.js";
import type { Config } from "../../config.js";
import type { Database } from "../../db/client.js";
import type { PartnerPort, StripePort } from "./ports.js";

/** What every billing use case may use; built once at start. */
export interface BillingDeps {
  database: Database;
  config: Config;
  clock: Clock;
  stripe: StripePort;
  partner: PartnerPort;
  logger: Logger;
  publicUrl: string;
  /** Base of the partner's portal; the account id is appended. */
  partnerPortalUrl: string;
}

export interface GroupRef {
  id: string;
  orgId: string;
  name: string;
}

export const pricingOf = (config: Config): PackagePricing => ({
  creditsPerPackage: config.CREDITS_PER_PACKAGE,
  oneTime: { amount: config.PRICE_ONE_TIME, currency: config.CURRENCY },
  monthly: { amount: config.PRICE_MONTHLY, currency: config.CURRENCY },
});
