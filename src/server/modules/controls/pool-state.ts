import { monthKey } from "../../../domain/periods.js";
import { lowBalanceTransition, shouldStartTopUp } from "../../../domain/pool-controls.js";
import type { Query } from "../../db/client.js";
import { findPoolAvailable, findTopUpState, lockControls } from "./controls-repo.js";
import { enqueueAlert, wakeControlsWorker } from "./outbox.js";

/**
 * Bring the groups' pool state up to date after a change of their balance (a debit, an expiry,
 * a grant, a threshold change), inside the caller's transaction.
 *
 * The group's controls row is locked first and the balance read after that, so concurrent
 * transactions (any number of processes) see each other's committed changes in turn: the one
 * that takes the pool below the threshold flips `is_low` and writes the one `group.credits.low`;
 * the others find it flipped already. Likewise one auto top-up is started per crossing (the
 * unique index on pending top-ups backs that up). Lock order: grants before controls.
 */
export async function syncPoolControls(query: Query, groupIds: readonly string[], now: Date) {
  const ids = [...new Set(groupIds)];
  if (ids.length === 0) return;
  const controls = await lockControls(query, ids);
  const active = controls.filter((c) => c.low_balance_threshold !== null || c.is_low || c.auto_top_up_enabled);
  if (active.length === 0) return;
  const available = await findPoolAvailable(
    query,
    active.map((c) => c.group_id),
    now,
  );
  for (const c of active) {
    const pool = available.get(c.group_id) ?? 0;
    const flip = lowBalanceTransition({ wasLow: c.is_low, available: pool, threshold: c.low_balance_threshold });
    if (flip.isLow !== c.is_low) {
      await query("update group_controls set is_low = $2, updated_at = now() where group_id = $1", [c.group_id, flip.isLow]);
      if (flip.event) {
        await enqueueAlert(query, { groupId: c.group_id, type: flip.event, url: c.alert_webhook_url, data: { available: pool, threshold: c.low_balance_threshold } });
      }
    }
    if (c.auto_top_up_enabled && c.auto_top_up_threshold !== null && pool < c.auto_top_up_threshold) {
      const state = await findTopUpState(query, c.group_id, now);
      const start = shouldStartTopUp({
        enabled: true,
        available: pool,
        threshold: c.auto_top_up_threshold,
        inFlight: state.inFlight,
        startedThisMonth: state.startedThisMonth,
        maxPerMonth: c.auto_top_up_max_per_month,
      });
      if (start) {
        const seq = c.top_up_seq + 1;
        await query("update group_controls set top_up_seq = $2, updated_at = now() where group_id = $1", [c.group_id, seq]);
        await query(`insert into auto_top_ups (group_id, seq, month, packages, status) values ($1, $2, $3, $4, 'pending')`, [
          c.group_id,
          seq,
          monthKey(now),
          c.auto_top_up_packages,
        ]);
        wakeControlsWorker();
      }
    }
  }
}
