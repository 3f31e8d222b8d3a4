import { nextAlertAttemptAt } from "../../../domain/pool-controls.js";
import type { Database } from "../../db/client.js";
import type { AlertSender } from "./ports.js";
import { signatureHeader } from "./signing.js";

/** How long a claimed attempt belongs to the process that claimed it (longer than any send takes). */
const CLAIM_LEASE_MS = 60_000;

interface ClaimedAlert {
  id: string;
  payload: unknown;
  attempts: number;
  created_at: Date;
  url: string | null;
  secret: string | null;
}

/**
 * Deliver the due alerts: each due row is claimed by one process (`FOR UPDATE SKIP LOCKED`, its
 * attempt counted and leased) in a short transaction; the POST happens after that commit, never
 * under a lock; the outcome is written in a second transaction. A process that dies mid-send
 * leaves the lease to expire, and the next attempt is made by whoever claims it then.
 * Returns how many attempts were made.
 */
export async function deliverDueAlerts({ database, sender, retryBaseMs, batch = 20 }: { database: Database; sender: AlertSender; retryBaseMs: number; batch?: number }) {
  const claimed = await database.transaction(async (q) => {
    const { rows } = await q<ClaimedAlert>(
      `with due as (
         select id from alert_outbox
          where next_attempt_at <= now() and delivered_at is null
          order by next_attempt_at limit $1
            for update skip locked
       )
       update alert_outbox o
          set attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
         from due
        where o.id = due.id
       returning o.id, o.payload, o.attempts, o.created_at,
                 (select alert_webhook_url from group_controls c where c.group_id = o.group_id) as url,
                 (select webhook_signing_secret from group_controls c where c.group_id = o.group_id) as secret`,
      [batch, CLAIM_LEASE_MS],
    );
    return rows;
  });
  await Promise.all(
    claimed.map(async (a) => {
      const body = JSON.stringify(a.payload);
      const result = a.url && a.secret
        ? await sender.send({ url: a.url, body, headers: { "Group-Billing-Signature": signatureHeader(a.secret, body) } })
        : ({ ok: false, error: "The group has no alert webhook URL any more." } as const);
      if (result.ok) {
        await database.query("update alert_outbox set delivered_at = now(), next_attempt_at = null, last_error = null where id = $1 and attempts = $2", [a.id, a.attempts]);
        return;
      }
      const next = a.url ? nextAlertAttemptAt({ attempt: a.attempts, baseMs: retryBaseMs, createdAt: new Date(a.created_at), now: new Date() }) : null;
      await database.query("update alert_outbox set next_attempt_at = $3, last_error = $4 where id = $1 and attempts = $2 and delivered_at is null", [
        a.id,
        a.attempts,
        next,
        result.error.slice(0, 500),
      ]);
    }),
  );
  return claimed.length;
}
