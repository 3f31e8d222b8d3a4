import type { AlertsResponse, ControlSettings, ControlSettingsBody } from "../../../contracts/controls.js";
import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import { AppError } from "../../errors.js";
import { holdPoolForSetting } from "../ledger/index.js";
import { ensureControls, findPoolAvailable, type ControlsRow } from "./controls-repo.js";
import { enqueueAlert } from "./outbox.js";
import { syncPoolControls } from "./pool-state.js";
import { checkWebhookUrl } from "./webhook-url-guard.js";

export interface ControlsDeps {
  database: Database;
  clock: Clock;
  /** ALLOW_PRIVATE_WEBHOOKS=1: loopback and private addresses may receive webhooks (local demo, tests). */
  allowPrivateWebhooks: boolean;
}

function toSettings(c: ControlsRow, poolAvailable: number): ControlSettings {
  const autoTopUp =
    c.auto_top_up_enabled && c.auto_top_up_threshold !== null && c.auto_top_up_packages !== null && c.auto_top_up_max_per_month !== null
      ? { threshold: c.auto_top_up_threshold, packages: c.auto_top_up_packages, maxPerMonth: c.auto_top_up_max_per_month }
      : null;
  return {
    lowBalanceThreshold: c.low_balance_threshold,
    alertWebhookUrl: c.alert_webhook_url,
    autoTopUp,
    webhookSigningSecret: c.webhook_signing_secret,
    autoTopUpDisabledReason: c.auto_top_up_disabled_reason,
    poolLow: c.is_low,
    poolAvailable,
  };
}

async function billingEnabled(database: Database, groupId: string) {
  const { rows } = await database.query("select 1 from billing_profiles where group_id = $1", [groupId]);
  return rows.length > 0;
}

/** GET .../billing/settings. The first read creates the group's signing secret. */
export async function getControlSettings({ database, clock, groupId }: Pick<ControlsDeps, "database" | "clock"> & { groupId: string }): Promise<ControlSettings> {
  const controls = await ensureControls(database.query, groupId);
  const available = await findPoolAvailable(database.query, [groupId], clock());
  return toSettings(controls, available.get(groupId) ?? 0);
}

/**
 * PUT .../billing/settings: a field left out keeps its value, null clears it. The URL is checked
 * (and resolved) before anything changes. A new threshold is compared with the pool at once, in
 * the same transaction: raising it above the balance is a crossing like any other. Saving auto
 * top-up turns it back on after a failure.
 */
export async function updateControlSettings(deps: ControlsDeps & { groupId: string; body: ControlSettingsBody }): Promise<ControlSettings> {
  const { database, groupId, body } = deps;
  if (body.alertWebhookUrl) await checkWebhookUrl(body.alertWebhookUrl, deps.allowPrivateWebhooks);
  if (body.autoTopUp && !(await billingEnabled(database, groupId))) {
    throw new AppError("billing_not_enabled", "Enable billing before turning on auto top-up.");
  }
  if (body.autoTopUp && body.autoTopUp.maxPerMonth < 1) throw new AppError("invalid_request", "maxPerMonth must be at least 1.");
  await database.transaction(async (q) => {
    // The pool first (the lock order: grants before controls): a debit under way commits before the
    // balance is read below, and one planned before these controls is planned again against them.
    await holdPoolForSetting(q, groupId);
    await ensureControls(q, groupId, true);
    const sets: string[] = [];
    const params: unknown[] = [groupId];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (body.lowBalanceThreshold !== undefined) set("low_balance_threshold", body.lowBalanceThreshold);
    if (body.alertWebhookUrl !== undefined) set("alert_webhook_url", body.alertWebhookUrl);
    if (body.autoTopUp !== undefined) {
      set("auto_top_up_enabled", body.autoTopUp !== null);
      if (body.autoTopUp) {
        set("auto_top_up_threshold", body.autoTopUp.threshold);
        set("auto_top_up_packages", body.autoTopUp.packages);
        set("auto_top_up_max_per_month", body.autoTopUp.maxPerMonth);
      }
      set("auto_top_up_disabled_reason", null);
    }
    if (sets.length > 0) await q(`update group_controls set ${sets.join(", ")}, updated_at = now() where group_id = $1`, params);
    await syncPoolControls(q, [groupId], deps.clock());
  });
  return getControlSettings({ database, clock: deps.clock, groupId });
}

/** POST .../settings/test-event: a `test` event through the outbox, to the URL as it is now. */
export async function sendTestAlert(deps: ControlsDeps & { groupId: string }) {
  const { database, groupId } = deps;
  const controls = await ensureControls(database.query, groupId);
  if (!controls.alert_webhook_url) throw new AppError("invalid_request", "Set an alert webhook URL first.");
  await checkWebhookUrl(controls.alert_webhook_url, deps.allowPrivateWebhooks);
  const available = await findPoolAvailable(database.query, [groupId], deps.clock());
  const id = await database.transaction((q) =>
    enqueueAlert(q, {
      groupId,
      type: "test",
      url: controls.alert_webhook_url,
      data: { available: available.get(groupId) ?? 0, threshold: controls.low_balance_threshold, message: "A test event from Group Billing." },
    }),
  );
  return { id, status: "queued" as const };
}

/** GET .../billing/alerts: the latest events, newest first, with how their delivery went. */
export async function listAlerts({ database, groupId, limit = 100 }: { database: Database; groupId: string; limit?: number }): Promise<AlertsResponse> {
  const { rows } = await database.query<{ id: string; type: string; created_at: Date; delivered_at: Date | null; attempts: number; last_error: string | null }>(
    `select id, type, created_at, delivered_at, attempts, last_error from alert_outbox
      where group_id = $1 order by created_at desc, id limit $2`,
    [groupId, limit],
  );
  return {
    alerts: rows.map((r) => ({
      id: r.id,
      type: r.type as AlertsResponse["alerts"][number]["type"],
      createdAt: new Date(r.created_at).toISOString(),
      deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
      attempts: r.attempts,
      lastError: r.delivered_at ? null : r.last_error,
    })),
  };
}
