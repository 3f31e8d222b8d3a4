/** What the controls module needs from the outside world; `integrations/webhooks` implements it. */

export type AlertSendResult = { ok: true; status: number } | { ok: false; error: string };

export interface AlertSender {
  /** POST `body` to `url`; never follows redirects, never reaches a refused address, answers within a few seconds. */
  send(o: { url: string; body: string; headers: Record<string, string> }): Promise<AlertSendResult>;
}
