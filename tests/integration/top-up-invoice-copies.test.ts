import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout, webhookHandled } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

// A declined auto top-up keeps its own invoice open (the customer may pay it later). Only that
// invoice is the purchase's payment (credits.md "Who owns what"): another invoice naming the
// purchase in its metadata (the dashboard's "Duplicate invoice" copies it) must grant nothing, or
// paying both bills the customer twice for one grant.
const env = { CONTROLS_POLL_MS: "50" };
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(env);
});
afterAll(() => server?.close());

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const stripe = <T,>(path: string, body?: Record<string, string>) =>
  fetch(`${server.stripe.url}${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: "Bearer sk_test_x", "content-type": "application/x-www-form-urlencoded" },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  }).then((r) => r.json() as Promise<T>);

describe("a declined Stripe auto top-up", () => {
  it("is granted only for its own invoice: a copy of it paid first grants nothing, and its own invoice paid after grants once", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: false, websites: 2 });
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    const groupId = f.groupA.id;
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    await buyThroughCheckout(server, admin, groupId, "one_time", 1); // 1,000 credits, the card saved
    const customer = (await q<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [groupId])).rows[0]!.c;
    await server.stripe.declineNextCharges(customer, 1);
    const settings = `/api/groups/${groupId}/billing/settings`;
    await admin.put(settings, { autoTopUp: { threshold: 500, packages: 2, maxPerMonth: 3 } });
    const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, f.org.id)}` });
    for (let i = 0; i < 6; i++) {
      expect((await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 100, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
    }
    const failed = await eventually(async () => {
      const { rows } = await q<{ id: string; stripe_invoice_id: string | null; amount: string }>(
        "select id, stripe_invoice_id, amount from purchases where group_id = $1 and idempotency_key like 'auto-top-up:%' and status = 'failed'",
        [groupId],
      );
      return rows[0]?.stripe_invoice_id ? rows[0] : null;
    });
    const own = await stripe<{ id: string; metadata: Record<string, string> }>(`/v1/invoices/${failed.stripe_invoice_id}`);

    // Made outside the product: the same customer, amount and metadata, on another invoice.
    const copy = await stripe<{ id: string }>("/v1/invoices", {
      customer,
      currency: "usd",
      collection_method: "charge_automatically",
      auto_advance: "false",
      ...Object.fromEntries(Object.entries(own.metadata).map(([k, v]) => [`metadata[${k}]`, v])),
    });
    await stripe("/v1/invoiceitems", { customer, invoice: copy.id, currency: "usd", amount: String(Number(failed.amount)), description: "copy" });
    await stripe(`/v1/invoices/${copy.id}/finalize`, {});
    expect((await stripe<{ status: string }>(`/v1/invoices/${copy.id}/pay`, {})).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", copy.id);
    expect((await admin.get(settings)).json.poolAvailable, "a copy of the top-up's invoice granted its credits").toBe(400);

    // The customer pays the top-up's own invoice on its hosted page: that is the purchase's payment.
    expect((await stripe<{ status: string }>(`/v1/invoices/${own.id}/pay`, {})).status).toBe("paid");
    await webhookHandled(server, "invoice.paid", own.id);
    expect((await admin.get(settings)).json.poolAvailable, "the top-up's own invoice, paid, was not granted").toBe(2400);
    const { rows: grants } = await q<{ n: number }>("select count(*)::int as n from credit_grants where purchase_id = $1", [failed.id]);
    expect(grants[0]!.n).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });
});
