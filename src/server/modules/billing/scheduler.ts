import type { Logger } from "pino";
import { createFailureLog } from "../../failure-log.js";
import { addMonths } from "../../../domain/periods.js";
import type { Clock } from "../../clock.js";
import type { Config } from "../../config.js";
import type { Database } from "../../db/client.js";
import { expireDueGrants, findInvariantViolations, grantMonthlyPeriod } from "../ledger/index.js";
import { describePartnerCharge, recordPartnerCharge, type PlanRow } from "./fulfilment.js";
import type { PartnerPort } from "./ports.js";

/**
 * Scheduled work kept in PostgreSQL: a plan's `current_period_end` is the job record, so a renewal
 * is never lost with a process. Any number of processes poll; `FOR UPDATE SKIP LOCKED` hands
 * each due plan to one of them, and the partner's idempotency key makes a repeated charge
 * (after a crash between charge and commit) return the first charge.
 */

/** Renew every partner plan whose period has ended; returns how many plans were handled. */
export async function renewDuePartnerPlans({ database, config, partner, now }: { database: Database; config: Config; partner: PartnerPort; now: Date }) {
  let handled = 0;
  for (;;) {
    const done = await database.transaction(async (q) => {
      const { rows } = await q<PlanRow & { partner_account_id: string | null }>(
        `select p.*, bp.partner_account_id from plans p join billing_profiles bp on bp.group_id = p.group_id
          where p.provider = 'partner' and p.status = 'active' and p.current_period_end <= $1
          order by p.current_period_end limit 1
            for update of bp, p skip locked`,
        [now],
      );
      const plan = rows[0];
      if (!plan) return true;
      if (plan.cancel_at_period_end) {
        await q("update plans set status = 'canceled', updated_at = now() where id = $1", [plan.id]);
        return false;
      }
      const start = plan.current_period_end;
      const end = addMonths(start, 1);
      const credits = plan.quantity * config.CREDITS_PER_PACKAGE;
      const description = describePartnerCharge({ type: "renewal", quantity: plan.quantity, creditsPerPackage: config.CREDITS_PER_PACKAGE });
      const result = await partner.charge({
        accountId: plan.partner_account_id!,
        amount: plan.quantity * config.PRICE_MONTHLY,
        currency: config.CURRENCY,
        description,
        idempotencyKey: `renewal:${plan.id}:${start.toISOString()}`,
      });
      if (!result.ok) {
        // An unpaid plan grants nothing more; the old period's credits expire on their own.
        await q("update plans set status = 'past_due', updated_at = now() where id = $1", [plan.id]);
        return false;
      }
      await recordPartnerCharge(q, { groupId: plan.group_id, charge: result.charge, description });
      await grantMonthlyPeriod(q, {
        now,
        groupId: plan.group_id,
        periodStart: start,
        periodEnd: end,
        packages: plan.quantity,
        credits,
        sourceKey: `partner-period:${plan.id}:${start.toISOString()}`,
      });
      await q("update plans set current_period_start = $2, current_period_end = $3, updated_at = now() where id = $1", [plan.id, start, end]);
      return false;
    });
    if (done) return handled;
    handled++;
  }
}

export function startScheduler({ database, config, partner, logger, clock, intervalMs = 15_000 }: { database: Database; config: Config; partner: PartnerPort; logger: Logger; clock: Clock; intervalMs?: number }) {
  let lastVerified = 0;
  let running: Promise<void> | null = null;
  const failures = createFailureLog("scheduled billing work failed; retrying on the next tick", 5 * intervalMs);
  const tick = () => {
    running ??= (async () => {
      try {
        const renewed = await renewDuePartnerPlans({ database, config, partner, now: clock() });
        const expired = await database.transaction((q) => expireDueGrants(q, { now: clock() }));
        if (renewed || expired) logger.info({ renewed, expired }, "scheduled billing work");
        // The ledger invariant as a periodic verifier (credits.md "Settled details"), every ten minutes.
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
