import { randomUUID } from "node:crypto";
import type { AlertEventBody, AlertType } from "../../../contracts/controls.js";
import type { Query } from "../../db/client.js";

/**
 * Write an alert to the outbox, in the caller's transaction: it exists exactly when the change it
 * reports was committed. Delivery (to the group's webhook URL, if any) happens later, in any process.
 */
export async function enqueueAlert(
  query: Query,
  { groupId, type, data, url }: { groupId: string; type: AlertType; data: { available: number; threshold: number | null } & Record<string, unknown>; url: string | null },
) {
  const id = randomUUID();
  const createdAt = new Date();
  const body: AlertEventBody = { id, type, createdAt: createdAt.toISOString(), data: { groupId, ...data } };
  await query(
    `insert into alert_outbox (id, group_id, type, payload, url, next_attempt_at, created_at) values ($1, $2, $3, $4, $5, $6, $7)`,
    [id, groupId, type, JSON.stringify(body), url, url ? createdAt : null, createdAt],
  );
  wakeControlsWorker();
  return id;
}

type Waker = () => void;
const wakers = new Set<Waker>();

/**
 * A hint to this process's controls worker that there may be work now (instead of at its next
 * poll). Only a latency hint: the outbox in the database is what is delivered.
 */
export function wakeControlsWorker() {
  for (const w of wakers) queueMicrotask(w);
}

export function onControlsWake(w: Waker) {
  wakers.add(w);
  return () => wakers.delete(w);
}
