import { createHmac } from "node:crypto";
import { setMaxListeners } from "node:events";

/** Signs a payload exactly as Stripe does: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`. */
export function signWebhookPayload({
  payload,
  secret,
  timestamp = Math.floor(Date.now() / 1000),
}: {
  payload: string;
  secret: string;
  timestamp?: number;
}): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

export interface WebhookSender {
  /** Starts delivering (with retries); the promise settles when it succeeded or gave up, never rejects. */
  deliver(event: { id: string }): Promise<void>;
  /** Stops retries and waits for in-flight attempts to finish. */
  close(): Promise<void>;
}

export interface WebhookSenderOptions {
  getUrl: () => string | null;
  secret: string;
  maxAttempts?: number;
  baseDelayMs?: number;
  attemptTimeoutMs?: number;
  onFailure?: (details: { eventId: string; attempts: number; reason: string }) => void;
}

export function createWebhookSender({
  getUrl,
  secret,
  maxAttempts = 5,
  baseDelayMs = 100,
  attemptTimeoutMs = 5000,
  onFailure = () => undefined,
}: WebhookSenderOptions): WebhookSender {
  const stop = new AbortController();
  // Every in-flight attempt listens on this one signal.
  setMaxListeners(0, stop.signal);
  const inFlight = new Set<Promise<void>>();

  async function deliverWithRetries(event: { id: string }): Promise<void> {
    const payload = JSON.stringify(event, null, 2);
    let reason = "no attempt made";
    for (let attempt = 1; attempt <= maxAttempts && !stop.signal.aborted; attempt += 1) {
      const url = getUrl();
      if (!url) return;
      reason = await postOnce({ url, payload });
      if (reason === "") return;
      if (attempt < maxAttempts) await sleep(baseDelayMs * 2 ** (attempt - 1), stop.signal);
    }
    if (!stop.signal.aborted) onFailure({ eventId: event.id, attempts: maxAttempts, reason });
  }

  /** Returns "" on a 2xx answer, otherwise why it failed. */
  async function postOnce({ url, payload }: { url: string; payload: string }): Promise<string> {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "Stripe-Signature": signWebhookPayload({ payload, secret }),
        },
        body: payload,
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(attemptTimeoutMs)]),
      });
      await response.body?.cancel();
      return response.ok ? "" : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  return {
    deliver(event) {
      if (!getUrl() || stop.signal.aborted) return Promise.resolve();
      const delivery = deliverWithRetries(event).catch(() => undefined);
      inFlight.add(delivery);
      void delivery.finally(() => inFlight.delete(delivery));
      return delivery;
    },
    async close() {
      stop.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
