import { monthKey } from "../../../domain/periods.js";
import type { Query } from "../../db/client.js";
import { liveGrantSql } from "../ledger/grant-kinds.js";
import { newSigningSecret } from "./signing.js";

export interface ControlsRow {
  group_id: string;
  low_balance_threshold: number | null;
  alert_webhook_url: string | null;
  webhook_signing_secret: string;
  auto_top_up_threshold: number | null;
  auto_top_up_packages: number | null;
  auto_top_up_max_per_month: number | null;
  auto_top_up_enabled: boolean;
  auto_top_up_disabled_reason: string | null;
  is_low: boolean;
  top_up_seq: number;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const normalize = (r: ControlsRow): ControlsRow => ({
  ...r,
  low_balance_threshold: num(r.low_balance_threshold),
  auto_top_up_threshold: num(r.auto_top_up_threshold),
});

/** The group's controls row, created (with its signing secret) the first time it is asked for. */
export async function ensureControls(query: Query, groupId: string, lock = false): Promise<ControlsRow> {
  await query("insert into group_controls (group_id, webhook_signing_secret) values ($1, $2) on conflict (group_id) do nothing", [groupId, newSigningSecret()]);
  const { rows } = await query<ControlsRow>(`select * from group_controls where group_id = $1${lock ? " for update" : ""}`, [groupId]);
  return normalize(rows[0]!);
}

/** Lock the controls rows of these groups (in a fixed order), for the rest of the transaction. */
export async function lockControls(query: Query, groupIds: string[]): Promise<ControlsRow[]> {
  const { rows } = await query<ControlsRow>("select * from group_controls where group_id = any($1::uuid[]) order by group_id for update", [groupIds]);
  return rows.map(normalize);
}

/** Spendable credits of each group's pool (monthly + one-time), read now: call it after taking the controls lock. */
export async function findPoolAvailable(query: Query, groupIds: string[], now: Date): Promise<Map<string, number>> {
  const { rows } = await query<{ group_id: string; available: number }>(
    `select g.group_id, coalesce(sum(g.remaining), 0)::bigint as available from credit_grants g
      where g.group_id = any($1::uuid[]) and g.remaining > 0 and ${liveGrantSql("g", "$2")}
      group by g.group_id`,
    [groupIds, now],
  );
  const result = new Map(groupIds.map((id) => [id, 0]));
  for (const r of rows) result.set(r.group_id, Number(r.available));
  return result;
}

export async function findTopUpState(query: Query, groupId: string, now: Date) {
  const { rows } = await query<{ in_flight: number; this_month: number }>(
    // A declined top-up whose invoice was paid later was bought all the same: it counts.
    `select count(*) filter (where t.status = 'pending')::int as in_flight,
            count(*) filter (where t.month = $2 and (t.status <> 'failed' or p.status = 'completed'))::int as this_month
       from auto_top_ups t left join purchases p on p.id = t.purchase_id
      where t.group_id = $1`,
    [groupId, monthKey(now)],
  );
  return { inFlight: (rows[0]?.in_flight ?? 0) > 0, startedThisMonth: rows[0]?.this_month ?? 0 };
}
