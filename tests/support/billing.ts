import { expect } from "vitest";
import { pressHostedButton } from "../../src/emulators/shared/test-support.js";
import { signWebhookPayload } from "../../src/emulators/stripe/index.js";
import type { Client } from "./http.js";
import type { TestServer } from "./server.js";
import { eventually, WEBHOOK_SECRET } from "./server.js";

/** Open the emulator's hosted Checkout page and press "Pay", as a customer would; returns where it sends the browser. */
export async function payOnHostedCheckout(checkoutUrl: string) {
  const res = await pressHostedButton({ pageUrl: checkoutUrl, button: "Pay" });
  expect(res.status).toBe(303);
  return res.headers.get("location")!;
}

export async function buyThroughCheckout(server: TestServer, admin: Client, groupId: string, type: "one_time" | "monthly", quantity: number) {
  const r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type, quantity });
  expect(r.status).toBe(200);
  expect(r.json.status).toBe("redirect");
  const back = await payOnHostedCheckout(r.json.url);
  expect(back).toContain(`/groups/${groupId}/billing?checkout=success&purchase=${r.json.purchaseId}`);
  await eventually(async () => {
    const p = await admin.get(`/api/groups/${groupId}/billing/purchases/${r.json.purchaseId}`);
    return p.json.status === "completed";
  });
  return r.json.purchaseId as string;
}

export async function grantCount(server: TestServer, groupId: string) {
  const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId]);
  return rows[0]!.n;
}

/** The settling loop at `at` (the server's clock), as the scheduler runs it. */
export async function settleAt(server: TestServer, at: Date) {
  server.clock.set(at);
  try {
    await server.billing.settlePendingPurchases();
  } finally {
    server.clock.reset();
  }
}

/** Wait until the server has processed Stripe's event of this type about this object (webhooks are asynchronous). */
export const webhookHandled = (server: TestServer, type: string, objectId: string) =>
  eventually(async () => {
    const { rows } = await server.deps.database.query<{ n: number }>(
      "select count(*)::int as n from webhook_events where type = $1 and payload->'data'->'object'->>'id' = $2 and processed_at is not null",
      [type, objectId],
    );
    return rows[0]!.n > 0;
  });

/** A Stripe event (or a hand-made one) posted to the webhook endpoint, signed as Stripe signs it. */
export function postStripeEvent(server: TestServer, event: unknown) {
  const payload = JSON.stringify(event);
  return fetch(`${server.url}/api/webhooks/stripe`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", "stripe-signature": signWebhookPayload({ payload, secret: WEBHOOK_SECRET }) },
  });
}

/** Runs `act` with Stripe's webhooks held back (lost, until posted with postStripeEvent); resolves to the events it made. */
export async function holdStripeEvents(server: TestServer, act: () => Promise<unknown>) {
  const from = server.stripe.events().length;
  server.stripe.setWebhookUrl(null);
  try {
    await act();
  } finally {
    server.stripe.setWebhookUrl(`${server.url}/api/webhooks/stripe`);
  }
  return server.stripe.events().slice(from);
}
