import { createFailureLog } from "../../failure-log.js";
import { expireDueGrants, findInvariantViolations } from "../ledger/index.js";
import type { BillingService } from "./billing-service.js";

/**
 * Scheduled billing work kept in the database (any number of processes poll; rows are claimed
 * with `FOR UPDATE SKIP LOCKED`): partner renewals, settling pending purchases, expiring grants
 * past their end, and the ledger invariant as a periodic verifier.
 */
export function startScheduler({ billing, intervalMs = 15_000 }: { billing: BillingService; intervalMs?: number }) {
  const { database, logger, clock } = billing.deps;
  let running: Promise<void> | null = null;
  let lastVerified = 0;
  const failures = createFailureLog("scheduled billing work failed; retrying on the next tick", 5 * intervalMs);
  const tick = () => {
    running ??= (async () => {
      try {
        const renewed = await billing.renewDuePartnerPlans(clock());
        const settled = await billing.settlePendingPurchases();
        const expired = await database.transaction((q) => expireDueGrants(q, { now: clock() }));
        if (renewed || expired || settled) logger.info({ renewed, settled, expired }, "scheduled billing work");
        if (Date.now() - lastVerified > 600_000) {
          lastVerified = Date.now();
          const v = await findInvariantViolations(database.query);
          if (v.grants.length || v.events.length) logger.error({ grants: v.grants.slice(0, 20), events: v.events.slice(0, 20) }, "ledger invariant violated");
        }
      } catch (err) {
        failures(err, (fields, msg) => logger.warn(fields, msg));
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  setTimeout(tick, 1000).unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
