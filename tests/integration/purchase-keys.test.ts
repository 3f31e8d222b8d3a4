import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCount } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { startTestServer, type TestServer } from "../support/server.js";

// A purchase's Idempotency-Key is the client's: whatever it is, a late partner answer is settled by
// the background loop (credits.md "Unknown outcomes"), not only by the client retrying.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe("a partner purchase answered late", () => {
  it("is settled by the loop whatever its Idempotency-Key, including one shaped like an auto top-up's", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: true });
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    const groupId = f.groupA.id;
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    const key = `auto-top-up:${crypto.randomUUID()}`;
    server.partner.setFault("delay", { delayMs: 4000 });
    let r;
    try {
      r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 2 }, { "idempotency-key": key });
    } finally {
      server.partner.setFault("none");
    }
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    expect(server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId)).toHaveLength(1); // billed

    await server.billing.settlePendingPurchases();
    const status = (await admin.get(`/api/groups/${groupId}/billing/purchases/${r.json.purchaseId}`)).json.status;
    expect(status, "a charged purchase was left pending by the settling loop").toBe("completed");
    expect(await grantCount(server, groupId)).toBe(1);
    // The same key again is the same purchase: nothing more charged or granted.
    const again = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 2 }, { "idempotency-key": key });
    expect(again.json).toEqual({ status: "completed", credits: 2000, purchaseId: r.json.purchaseId });
    expect(server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId)).toHaveLength(1);
    expect(await grantCount(server, groupId)).toBe(1);
  });
});
