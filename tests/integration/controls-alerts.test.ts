import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySignature } from "../../src/server/modules/controls/signing.js";
import { createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";
import { startWebhookReceiver } from "../support/webhook-receiver.js";

let server: TestServer;
beforeAll(async () => {
  // Retries come fast here; the schedule itself (doubling, 25 h) is a unit test of the domain.
  server = await startTestServer({ ALLOW_PRIVATE_WEBHOOKS: "1", ALERT_RETRY_BASE_MS: "100", CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

async function adminOfGroup() {
  const f = await createOrgFixture(server.db);
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  return { f, admin, groupId: f.groupA.id, settings: `/api/groups/${f.groupA.id}/billing/settings` };
}

describe("control settings", () => {
  it("starts empty with one signing secret per group, keeps what is saved and leaves out fields unchanged", async () => {
    const g = await adminOfGroup();
    const first = await g.admin.get(g.settings);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ lowBalanceThreshold: null, alertWebhookUrl: null, autoTopUp: null, autoTopUpDisabledReason: null, poolLow: false });
    expect(first.json.webhookSigningSecret).toMatch(/^whsec_[\w-]{20,}$/);
    expect((await g.admin.get(g.settings)).json.webhookSigningSecret).toBe(first.json.webhookSigningSecret);
    const other = await g.admin.get(`/api/groups/${g.f.groupB.id}/billing/settings`);
    expect(other.json.webhookSigningSecret).not.toBe(first.json.webhookSigningSecret);

    const put = await g.admin.put(g.settings, { lowBalanceThreshold: 500, alertWebhookUrl: "https://127.0.0.1/billing" });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ lowBalanceThreshold: 500, alertWebhookUrl: "https://127.0.0.1/billing" });
    const partial = await g.admin.put(g.settings, { lowBalanceThreshold: 20 });
    expect(partial.json).toMatchObject({ lowBalanceThreshold: 20, alertWebhookUrl: "https://127.0.0.1/billing" });
    expect((await g.admin.put(g.settings, { alertWebhookUrl: null })).json.alertWebhookUrl).toBeNull();
  });

  it.each([
    ["a negative threshold", { lowBalanceThreshold: -1 }],
    ["a fractional threshold", { lowBalanceThreshold: 1.5 }],
    ["a threshold as a string", { lowBalanceThreshold: "5" }],
    ["an unknown field", { surprise: true }],
    ["zero packages", { autoTopUp: { threshold: 100, packages: 0, maxPerMonth: 2 } }],
    ["51 packages", { autoTopUp: { threshold: 100, packages: 51, maxPerMonth: 2 } }],
    ["a monthly limit of 0", { autoTopUp: { threshold: 100, packages: 1, maxPerMonth: 0 } }],
    ["a URL over 2,048 characters", { alertWebhookUrl: `https://x.example/${"a".repeat(2050)}` }],
  ])("answers 400 for %s and changes nothing", async (_, body) => {
    const g = await adminOfGroup();
    await g.admin.put(g.settings, { lowBalanceThreshold: 7 });
    const r = await g.admin.put(g.settings, body);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    expect((await g.admin.get(g.settings)).json.lowBalanceThreshold).toBe(7);
  });

  it.each([
    "ftp://127.0.0.1/hook",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://0.0.0.0:8080/",
    "not a url",
    "http://no-such-host.invalid/hook",
  ])("refuses the webhook URL %s with 400, even with private webhooks allowed", async (url) => {
    const g = await adminOfGroup();
    const r = await g.admin.put(g.settings, { alertWebhookUrl: url });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    expect((await g.admin.get(g.settings)).json.alertWebhookUrl).toBeNull();
  });

  it("is for admins of the group only", async () => {
    const g = await adminOfGroup();
    const member = await server.client().login(g.f.member, TEST_PASSWORD);
    expect((await member.get(g.settings)).status).toBe(403);
    expect((await member.put(g.settings, { lowBalanceThreshold: 1 })).status).toBe(403);
    const groupAdmin = await server.client().login(g.f.groupAdmin, TEST_PASSWORD);
    expect((await groupAdmin.get(`/api/groups/${g.f.groupB.id}/billing/settings`)).status).toBe(403);
    const outsider = await adminOfGroup();
    expect((await outsider.admin.get(g.settings)).status).toBe(404);
    expect((await outsider.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).status).toBe(404);
    expect((await g.admin.get(g.settings)).json.lowBalanceThreshold).toBeNull();
  });

  it("refuses auto top-up before billing is enabled", async () => {
    const g = await adminOfGroup();
    const r = await g.admin.put(g.settings, { autoTopUp: { threshold: 100, packages: 1, maxPerMonth: 2 } });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("billing_not_enabled");
  });
});

describe("outgoing webhooks", () => {
  it("retries a receiver that fails twice: three signed deliveries of the same event, then delivered", async () => {
    const receiver = await startWebhookReceiver([500, 503]);
    try {
      const g = await adminOfGroup();
      const saved = await g.admin.put(g.settings, { alertWebhookUrl: receiver.url });
      const secret = saved.json.webhookSigningSecret as string;
      const sent = await g.admin.post(`${g.settings}/test-event`);
      expect(sent.status).toBe(202);
      const alert = await eventually(async () => {
        const { alerts } = (await g.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).json;
        return alerts.find((a: { id: string; deliveredAt: string | null }) => a.id === sent.json.id && a.deliveredAt);
      });
      expect(alert).toMatchObject({ type: "test", attempts: 3, lastError: null });
      expect(receiver.received.map((r) => r.answeredWith)).toEqual([500, 503, 200]);
      for (const r of receiver.received) {
        expect(verifySignature(secret, r.body, r.signature)).toBe(true);
        expect(verifySignature(`${secret}x`, r.body, r.signature)).toBe(false);
        expect(r.json).toMatchObject({ id: sent.json.id, type: "test", data: { groupId: g.groupId, available: 0, threshold: null } });
      }
      expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it("answers 400 for a test event without a URL", async () => {
    const g = await adminOfGroup();
    const r = await g.admin.post(`${g.settings}/test-event`);
    expect(r.status).toBe(400);
    expect((await g.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).json.alerts).toEqual([]);
  });
});

describe("low-balance alerts from threshold changes", () => {
  it("raising the threshold above the pool is one low; lowering it below is one recovered; saving again is nothing", async () => {
    const receiver = await startWebhookReceiver();
    try {
      const g = await adminOfGroup();
      await fundGroupPool(server.deps.database, g.groupId, { monthly: 300, oneTime: 200 });
      await g.admin.put(g.settings, { alertWebhookUrl: receiver.url, lowBalanceThreshold: 100 });
      expect((await g.admin.get(g.settings)).json).toMatchObject({ poolLow: false, poolAvailable: 500 });
      const low = await g.admin.put(g.settings, { lowBalanceThreshold: 501 });
      expect(low.json.poolLow).toBe(true);
      await g.admin.put(g.settings, { lowBalanceThreshold: 900 });
      await g.admin.put(g.settings, { lowBalanceThreshold: 500 });
      await g.admin.put(g.settings, { lowBalanceThreshold: 400 });
      await eventually(() => Promise.resolve(receiver.received.length === 2));
      expect(receiver.received.map((r) => [r.json.type, r.json.data.available, r.json.data.threshold])).toEqual([
        ["group.credits.low", 500, 501],
        ["group.credits.recovered", 500, 500],
      ]);
      const { alerts } = (await g.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).json;
      expect(alerts.map((a: { type: string }) => a.type)).toEqual(["group.credits.recovered", "group.credits.low"]);
    } finally {
      await receiver.close();
    }
  });
});
