import type { Query } from "../../db/client.js";
import { AppError } from "../../errors.js";
import { syncPoolControls } from "../controls/pool-state.js";

/**
 * A correction of one grant's balance (an operator's fix, a refund taken back), written as an
 * `adjustment` entry. The balance stays within 0..granted (the table's check), so an adjustment
 * never creates credits that no grant entry accounts for.
 */
export async function adjustGrant(query: Query, { grantId, amount, now }: { grantId: number; amount: number; now: Date }) {
  if (!Number.isSafeInteger(amount) || amount === 0) throw new AppError("invalid_request", "An adjustment is a non-zero whole number of credits.");
  const { rows } = await query<{ remaining: number; granted: number; group_id: string | null }>(
    "select remaining, granted, group_id from credit_grants where id = $1 for update",
    [grantId],
  );
  const g = rows[0];
  if (!g) throw new AppError("not_found", "Grant not found.");
  const after = Number(g.remaining) + amount;
  if (after < 0 || after > Number(g.granted)) throw new AppError("conflict", "The adjustment would take the grant outside 0 to its granted credits.");
  await query(
    `with e as (insert into ledger_entries (grant_id, kind, amount) values ($1, 'adjustment', $2))
     update credit_grants set remaining = remaining + $2 where id = $1`,
    [grantId, amount],
  );
  if (g.group_id) await syncPoolControls(query, [g.group_id], now);
  return { remaining: after };
}
