import { addMonths } from "../../../domain/periods.js";
import type { Query } from "../../db/client.js";
import { endMonthlyCredits, extendMonthlyGrant, grantMonthlyPeriod } from "../ledger/index.js";
import type { BillingDeps } from "./billing-deps.js";
import { describePartnerCharge, lockGroupBilling, recordPartnerCharge, type PlanRow } from "./billing-repo.js";
import type { PartnerChargeInfo } from "./ports.js";

/** A claim older than this is taken over by another process (its holder crashed or hung). */
const CLAIM_MS = 60_000;
/** A declined renewal is charged again this long after its last try (the reseller may have fixed the account's payment method). */
export const PARTNER_RENEWAL_RETRY_MS = 24 * 3600_000;
/** A renewal still unpaid this long after the period end ends the plan, as Stripe ends a subscription after its retries. */
export const PARTNER_PAST_DUE_CANCEL_AFTER_MS = 7 * 24 * 3600_000;

const renewalKeyOf = (plan: Pick<PlanRow, "id" | "current_period_end">) => `renewal:${plan.id}:${plan.current_period_end.toISOString()}`;

/**
 * Renew every partner plan whose period has ended. A plan's `current_period_end` is the job
 * record, so a renewal is never lost with a process. Per plan: claim it (`FOR UPDATE SKIP LOCKED`,
 * stamp `renewal_claimed_at`, commit), charge the partner with a key derived from the plan and
 * period (no lock held), then apply the answer under the group's lock. A late or lost answer
 * leaves the plan active and the old period's grant spendable; the next round asks again with the
 * same key (the partner never charges twice), so it settles exactly once. Only a known decline
 * makes the plan `past_due`; it is charged again (same key) once a day, and ended a week after its
 * period end if still unpaid. A renewal charges the packages set for the next period (a lowering
 * from the operator API), and a plan set to cancel ends instead.
 *
 * A plan tried before for this period (`renewal_claimed_at` set) may have been charged with the
 * answer lost: the partner is asked for that charge first, and if there is one it is this period's
 * payment, granted at the packages it paid for, whatever was changed since (a lowering, a cancel,
 * the week running out). Nothing is ended while that question has no answer. Returns how many plans
 * were settled.
 */
export async function renewDuePartnerPlans(deps: BillingDeps, { now }: { now: Date }) {
  let handled = 0;
  const seen = new Set<string>();
  for (;;) {
    const plan = await deps.database.transaction(async (q) => {
      // Due: an active plan not claimed by a live process; a past-due one a day after its last try,
      // or, when it is to end (cancelled, or the week is over), once no try is in flight.
      const { rows } = await q<PlanRow & { partner_account_id: string | null }>(
        `select p.*, bp.partner_account_id from plans p join billing_profiles bp on bp.group_id = p.group_id
          where p.provider = 'partner' and p.current_period_end <= $1 and not (p.id = any($3::uuid[]))
            and ((p.status = 'active' and (p.renewal_claimed_at is null or p.renewal_claimed_at <= $2))
              or (p.status = 'past_due' and (p.renewal_claimed_at is null or p.renewal_claimed_at <= $4
                or ((p.cancel_at_period_end or p.current_period_end <= $5) and p.renewal_claimed_at <= $2))))
          order by p.current_period_end limit 1
            for update of bp, p skip locked`,
        [now, new Date(now.getTime() - CLAIM_MS), [...seen], new Date(now.getTime() - PARTNER_RENEWAL_RETRY_MS), new Date(now.getTime() - PARTNER_PAST_DUE_CANCEL_AFTER_MS)],
      );
      const row = rows[0];
      if (!row) return null;
      const ending = isEnding(row, now);
      const tried = row.renewal_claimed_at !== null;
      if (ending && !tried) {
        // Never charged for this period: nothing to ask the partner.
        await endPlan(q, row, now);
        return { ...row, ending, tried, done: true };
      }
      // Months that ended with no renewal round (the rounds stopped) are skipped, neither charged nor
      // granted: only the period that holds `now` is charged. A tried renewal keeps its key (its charge may exist).
      const due = tried ? row : { ...row, ...periodHolding(row.current_period_start, row.current_period_end, now) };
      await q("update plans set renewal_claimed_at = $2, current_period_start = $3, current_period_end = $4 where id = $1", [row.id, now, due.current_period_start, due.current_period_end]);
      // The old period's grant stays spendable while its renewal is in flight.
      await extendMonthlyGrant(q, { groupId: row.group_id, periodStart: due.current_period_start, until: new Date(now.getTime() + 2 * CLAIM_MS) });
      return { ...due, ending, tried, done: false };
    });
    if (!plan) return handled;
    seen.add(plan.id);
    if (plan.done) {
      handled++;
      continue;
    }
    if (plan.tried) {
      const earlier = await deps.partner.findChargeByIdempotencyKey(renewalKeyOf(plan)).catch(() => undefined);
      if (earlier === undefined) {
        await askAgainSoon(deps, plan, now);
        continue;
      }
      if (earlier) {
        await applyRenewal(deps, plan, packagesPaidBy(deps, earlier, plan), earlier, now);
        handled++;
        continue;
      }
    }
    if (plan.ending) {
      await deps.database.transaction(async (q) => {
        await lockGroupBilling(q, plan.group_id);
        await endPlan(q, plan, now);
      });
      handled++;
      continue;
    }
    const quantity = plan.next_period_quantity ?? plan.quantity;
    const description = describePartnerCharge({ type: "renewal", quantity, creditsPerPackage: deps.config.CREDITS_PER_PACKAGE });
    const result = await deps.partner.charge({
      accountId: plan.partner_account_id!,
      amount: quantity * deps.config.PRICE_MONTHLY,
      currency: deps.config.CURRENCY,
      description,
      idempotencyKey: renewalKeyOf(plan),
    });
    if (!result.ok && (result.code === "unknown" || result.code === "unavailable")) {
      deps.logger.warn({ planId: plan.id, reason: result.reason }, "partner renewal outcome unknown; asking again next round");
      const charge = await deps.partner.findChargeByIdempotencyKey(renewalKeyOf(plan)).catch(() => null);
      if (!charge) {
        await askAgainSoon(deps, plan, now);
        continue;
      }
      await applyRenewal(deps, plan, quantity, charge, now);
    } else if (!result.ok) {
      await deps.database.transaction(async (q) => {
        await lockGroupBilling(q, plan.group_id);
        // An unpaid plan grants nothing more; the old period's credits end with it. The try is stamped: the next is a day later.
        await q("update plans set status = 'past_due', renewal_claimed_at = $3, updated_at = now() where id = $1 and current_period_end = $2", [plan.id, plan.current_period_end, now]);
        await endMonthlyCredits(q, { groupId: plan.group_id, now });
      });
    } else {
      await applyRenewal(deps, plan, quantity, result.charge, now);
    }
    handled++;
  }
}

/** The plan ends instead of renewing: set to cancel at its period end, or past due for a week. */
const isEnding = (plan: PlanRow, now: Date) =>
  plan.cancel_at_period_end || (plan.status === "past_due" && now.getTime() >= plan.current_period_end.getTime() + PARTNER_PAST_DUE_CANCEL_AFTER_MS);

/** End the plan and its monthly credits, unless it was renewed or resumed since it was read. */
async function endPlan(q: Query, plan: PlanRow, now: Date) {
  const { rows } = await q<PlanRow>("select * from plans where id = $1 and current_period_end = $2 and status <> 'canceled' for update", [plan.id, plan.current_period_end]);
  const current = rows[0];
  if (!current || !isEnding(current, now)) return;
  await q("update plans set status = 'canceled', renewal_claimed_at = null, updated_at = now() where id = $1", [plan.id]);
  await endMonthlyCredits(q, { groupId: plan.group_id, now });
}

/**
 * The outcome of a try is unknown: ask again after a claim's time, not after a day. An active plan's
 * claim lapses by itself; a past-due plan's stamp is set back so the next try is due then.
 */
async function askAgainSoon(deps: BillingDeps, plan: PlanRow, now: Date) {
  if (plan.status !== "past_due") return;
  await deps.database.query("update plans set renewal_claimed_at = $3 where id = $1 and current_period_end = $2 and renewal_claimed_at = $4", [
    plan.id,
    plan.current_period_end,
    new Date(now.getTime() + CLAIM_MS - PARTNER_RENEWAL_RETRY_MS),
    now,
  ]);
}

/** The packages an earlier try of this renewal was charged for (the plan may have been lowered since). */
function packagesPaidBy(deps: BillingDeps, charge: PartnerChargeInfo, plan: PlanRow) {
  const packages = charge.amount / deps.config.PRICE_MONTHLY;
  if (Number.isInteger(packages) && packages >= 1 && charge.currency === deps.config.CURRENCY) return packages;
  deps.logger.error({ planId: plan.id, chargeId: charge.id, amount: charge.amount, currency: charge.currency }, "partner renewal charge does not match the price; granting the plan's packages");
  return plan.next_period_quantity ?? plan.quantity;
}

/**
 * The plan's period and the one before it, moved on by whole months until the period after it has
 * not ended by `now` (chained as renewals chain them): unchanged when the rounds ran in time.
 */
function periodHolding(start: Date, end: Date, now: Date) {
  let [s, e] = [start, end];
  while (addMonths(e, 1).getTime() <= now.getTime()) [s, e] = [e, addMonths(e, 1)];
  return { current_period_start: s, current_period_end: e };
}

/**
 * The paid renewal's period is granted and the plan moves to it, active again and at the packages
 * charged. A charge found only after its month had ended (its answer unknown all that time) pays
 * for the month that holds `now`, so that what was billed is spendable.
 */
async function applyRenewal(deps: BillingDeps, plan: PlanRow, quantity: number, charge: PartnerChargeInfo, now: Date) {
  const start = periodHolding(plan.current_period_start, plan.current_period_end, now).current_period_end;
  const end = addMonths(start, 1);
  const description = describePartnerCharge({ type: "renewal", quantity, creditsPerPackage: deps.config.CREDITS_PER_PACKAGE });
  await deps.database.transaction(async (q) => {
    await lockGroupBilling(q, plan.group_id);
    const { rows } = await q<{ id: string }>("select id from plans where id = $1 and current_period_end = $2 for update", [plan.id, plan.current_period_end]);
    if (!rows[0]) return; // settled by another process
    await recordPartnerCharge(q, { groupId: plan.group_id, charge, description });
    await grantMonthlyPeriod(q, {
      groupId: plan.group_id,
      periodStart: start,
      periodEnd: end,
      packages: quantity,
      credits: quantity * deps.config.CREDITS_PER_PACKAGE,
      sourceKey: `partner-period:${plan.id}:${start.toISOString()}`,
      now,
    });
    // A lowering set while this renewal was in flight is for the period after it: kept.
    await q(
      `update plans set current_period_start = $2, current_period_end = $3, status = 'active', quantity = $4, renewal_claimed_at = null,
              next_period_quantity = case when next_period_quantity = $4 then null else next_period_quantity end, updated_at = now()
        where id = $1`,
      [plan.id, start, end, quantity],
    );
  });
}
