import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCount, settleAt } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, OPERATOR_KEY, PARTNER_KEY, startTestServer, type TestServer } from "../support/server.js";

// Partner charges whose outcome was unknown: what the partner ends up charging is what the group is
// granted, however late the partner commits the charge, and whatever the admin changed meanwhile.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ CONTROLS_POLL_MS: "50" });
});
afterAll(() => server?.close());

async function partnerGroup() {
  const f = await createOrgFixture(server.db, { partnerManaged: true, websites: 1 });
  const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
  expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).status).toBe(200);
  return { f, admin, groupId: f.groupA.id };
}
type G = Awaited<ReturnType<typeof partnerGroup>>;

const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);
const chargesOf = (g: G) => server.partner.charges().filter((c) => c.accountId === g.f.org.partnerAccountId);
const purchaseStatus = async (g: G, id: string) => (await g.admin.get(`/api/groups/${g.groupId}/billing/purchases/${id}`)).json.status as string;
const invoiceCount = async (g: G) => (await q<{ n: number }>("select count(*)::int as n from invoices where group_id = $1", [g.groupId])).rows[0]!.n;
const poolAvailable = async (g: G) => (await g.admin.get(`/api/groups/${g.groupId}/billing/settings`)).json.poolAvailable as number;

/** A one-time purchase of one package sent while the partner does not answer: pending (202). */
async function buyUnanswered(g: G) {
  server.partner.setFault("hang");
  try {
    const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    return r.json.purchaseId as string;
  } finally {
    server.partner.setFault("none");
  }
}

async function purchaseOf(id: string) {
  return (await q<{ amount: number; currency: string; created_at: Date }>("select amount, currency, created_at from purchases where id = $1", [id])).rows[0]!;
}

/** The partner commits a charge under `idempotencyKey` through its own API, as a slow partner whose request lands late would. */
async function commitAtPartner(g: G, idempotencyKey: string, p: { amount: number; currency: string }) {
  const res = await fetch(`${server.partner.url}/v1/charges`, {
    method: "POST",
    headers: { authorization: `Bearer ${PARTNER_KEY}`, "content-type": "application/json", "idempotency-key": idempotencyKey },
    body: JSON.stringify({ accountId: g.f.org.partnerAccountId, amount: Number(p.amount), currency: p.currency, description: "One-time credits · 1 package (1,000 credits)" }),
  });
  expect(res.status).toBe(201);
}

const after = (d: Date, ms: number) => new Date(d.getTime() + ms);

describe("a partner purchase failed because the partner had no charge for it", () => {
  it("is granted once when the partner commits its charge later, and a replayed round grants nothing more", async () => {
    const g = await partnerGroup();
    const id = await buyUnanswered(g);
    const p = await purchaseOf(id);
    await settleAt(server, after(p.created_at, 61_000));
    expect(await purchaseStatus(g, id)).toBe("failed");
    expect(chargesOf(g)).toHaveLength(0);

    // The partner's in-flight request commits after our look-up: the customer is billed.
    await commitAtPartner(g, `purchase:${id}`, p);
    expect(chargesOf(g)).toHaveLength(1);
    await settleAt(server, after(p.created_at, 62_000));
    expect(await purchaseStatus(g, id)).toBe("completed");
    expect(await grantCount(server, g.groupId)).toBe(1);
    expect(await poolAvailable(g)).toBe(1000);
    expect(await invoiceCount(g)).toBe(1);

    // Later rounds, two at once among them, find it completed: billed == granted.
    server.clock.set(after(p.created_at, 3 * 3600_000));
    try {
      await Promise.all([server.billing.settlePendingPurchases(), server.billing.settlePendingPurchases()]);
    } finally {
      server.clock.reset();
    }
    await settleAt(server, after(p.created_at, 5 * 3600_000));
    expect(await grantCount(server, g.groupId)).toBe(1);
    expect(await poolAvailable(g)).toBe(1000);
    expect(await invoiceCount(g)).toBe(1);
    expect(chargesOf(g)).toHaveLength(1);
    await expectLedgerConsistent(server.deps.database);
  });

  it("is looked up again only for 30 days after the purchase", async () => {
    const g = await partnerGroup();
    const id = await buyUnanswered(g);
    const p = await purchaseOf(id);
    await settleAt(server, after(p.created_at, 61_000));
    await commitAtPartner(g, `purchase:${id}`, p);
    // Its first look back comes 31 days after the purchase: past the 30 days, so it is not looked up.
    server.clock.set(after(p.created_at, 31 * 86400_000));
    try {
      await server.billing.settlePendingPurchases();
    } finally {
      server.clock.reset();
    }
    expect(await purchaseStatus(g, id)).toBe("failed");
    expect(await grantCount(server, g.groupId)).toBe(0);
  });

  it("a plan purchase charged late, after the admin bought another plan, grants its month without raising that plan", async () => {
    const g = await partnerGroup();
    server.partner.setFault("hang");
    let id: string;
    try {
      const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 2 });
      expect([r.status, r.json.status]).toEqual([202, "pending"]);
      id = r.json.purchaseId as string;
    } finally {
      server.partner.setFault("none");
    }
    const p = await purchaseOf(id);
    await settleAt(server, after(p.created_at, 61_000));
    expect(await purchaseStatus(g, id)).toBe("failed");
    // Told it failed, the admin buys a plan of 3 packages.
    const bought = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "monthly", quantity: 3 });
    expect([bought.status, bought.json.status]).toEqual([200, "completed"]);

    // The first request commits at the partner after all: 2 packages billed once, for one month.
    await commitAtPartner(g, `purchase:${id}`, p);
    await settleAt(server, after(p.created_at, 62_000));
    expect(await purchaseStatus(g, id)).toBe("completed");
    const plan = (await q<{ quantity: number }>("select quantity from plans where group_id = $1", [g.groupId])).rows[0]!;
    expect(plan.quantity, "the plan the admin bought is not raised by a purchase they were told had failed").toBe(3);
    expect(await poolAvailable(g)).toBe(5000);
    expect(await grantCount(server, g.groupId)).toBe(2);
    await expectLedgerConsistent(server.deps.database);
  });

  it("a declined purchase is never read back, even if a charge turns up under its key", async () => {
    const g = await partnerGroup();
    server.partner.setFault("decline");
    try {
      const r = await g.admin.post(`/api/groups/${g.groupId}/billing/purchases`, { type: "one_time", quantity: 1 });
      expect([r.status, r.json.error.code]).toEqual([402, "payment_failed"]);
    } finally {
      server.partner.setFault("none");
    }
    const { rows } = await q<{ id: string }>("select id from purchases where group_id = $1", [g.groupId]);
    const id = rows[0]!.id;
    const p = await purchaseOf(id);
    await commitAtPartner(g, `purchase:${id}`, p);
    await settleAt(server, after(p.created_at, 61_000));
    await settleAt(server, after(p.created_at, 2 * 3600_000));
    expect(await purchaseStatus(g, id)).toBe("failed");
    expect(await grantCount(server, g.groupId)).toBe(0);
    expect(await invoiceCount(g)).toBe(0);
  });
});

describe("deleting a group while a partner charge may still arrive", () => {
  it("is refused while its failed purchase is still looked up, and allowed once the 30 days are over", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: true, websites: 0 });
    const g: G = { f, admin: await server.client().login(f.orgAdmin, TEST_PASSWORD), groupId: f.groupA.id };
    expect((await g.admin.post(`/api/groups/${g.groupId}/billing/enable`)).status).toBe(200);
    const org = `org_${g.groupId.slice(0, 8)}`;
    const grp = `grp_${g.groupId.slice(0, 8)}`;
    await q("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
    await q("update groups set external_id = $2 where id = $1", [g.groupId, grp]);
    const id = await buyUnanswered(g);
    const p = await purchaseOf(id);
    await settleAt(server, after(p.created_at, 61_000));
    expect(await purchaseStatus(g, id)).toBe("failed");

    // A slow partner may still commit the charge: deleted now, the customer would be billed for a group that is gone.
    const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
    const refused = await op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
    expect([refused.status, refused.json.error.code]).toEqual([409, "conflict"]);
    expect(refused.json.error.message).toMatch(/partner charge of an earlier purchase may still arrive/);

    // 30 days on it is no longer looked up, and nothing holds the delete back.
    await q("update purchases set created_at = now() - interval '31 days' where id = $1", [id]);
    expect((await op.delete(`/api/operator/orgs/${org}/groups/${grp}`)).status).toBe(204);
  });
});

describe("an auto top-up whose outcome was unknown, retried after auto top-up was turned off", () => {
  async function lowPoolWithAutoTopUp() {
    const g = await partnerGroup();
    await fundGroupPool(server.deps.database, g.groupId, { oneTime: 600 });
    const key = await createApiKeyFor(server.deps.database, g.f.org.id);
    const api = new Client(server.url, { authorization: `Bearer ${key}` });
    const settings = `/api/groups/${g.groupId}/billing/settings`;
    expect((await g.admin.put(settings, { autoTopUp: { threshold: 500, packages: 1, maxPerMonth: 5 } })).status).toBe(200);
    /** 600 -> 400: below the threshold, so one top-up starts. */
    const cross = async () => expect((await api.post("/api/v1/usage", { websiteId: g.f.websitesA[0]!.id, credits: 200, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
    const topUp = async () =>
      (await q<{ status: string; attempts: number; purchase_status: string | null }>(
        "select t.status, t.attempts, p.status as purchase_status from auto_top_ups t left join purchases p on p.id = t.purchase_id where t.group_id = $1",
        [g.groupId],
      )).rows;
    const turnOff = async () => expect((await g.admin.put(settings, { autoTopUp: null })).json.autoTopUp).toBeNull();
    return { g, settings, cross, topUp, turnOff };
  }

  it("the earlier try had charged: the retry only looks it up, and it is granted once", async () => {
    const { g, settings, cross, topUp, turnOff } = await lowPoolWithAutoTopUp();
    // The partner takes the charge at once but answers after our 3 s deadline: outcome unknown.
    server.partner.setFault("delay", { delayMs: 4000 });
    try {
      await cross();
      await eventually(() => Promise.resolve(chargesOf(g).length === 1));
      await turnOff();
      await eventually(async () => (await topUp())[0]?.status !== "pending", 20_000);
    } finally {
      server.partner.setFault("none");
    }
    expect(await topUp()).toEqual([{ status: "succeeded", attempts: 2, purchase_status: "completed" }]);
    expect(chargesOf(g)).toHaveLength(1);
    expect(await poolAvailable(g)).toBe(1400);
    expect(await invoiceCount(g)).toBe(1);
    expect((await g.admin.get(settings)).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: null });
    await expectLedgerConsistent(server.deps.database);
  });

  it("nothing reached the partner: the retry charges nothing, and the top-up is closed after the settle delay", async () => {
    const { g, settings, cross, topUp, turnOff } = await lowPoolWithAutoTopUp();
    // The partner holds the request and drops it: nothing is charged, the outcome is unknown.
    server.partner.setFault("hang");
    try {
      await cross();
      await eventually(async () => ((await topUp())[0]?.attempts ?? 0) >= 1);
      await turnOff();
    } finally {
      server.partner.setFault("none");
    }
    // The retry comes minutes later by the server's clock, past the settle delay.
    server.clock.set(Date.now() + 5 * 60_000);
    try {
      await eventually(async () => (await topUp())[0]?.status !== "pending", 20_000);
    } finally {
      server.clock.reset();
    }
    expect(chargesOf(g)).toHaveLength(0);
    expect(await topUp()).toMatchObject([{ status: "failed", purchase_status: "failed" }]);
    expect(await poolAvailable(g)).toBe(400);
    expect(await grantCount(server, g.groupId)).toBe(1); // the funding grant only
    // Turned off by the admin, not by a failure: no reason to show, no failure alert.
    expect((await g.admin.get(settings)).json).toMatchObject({ autoTopUp: null, autoTopUpDisabledReason: null });
    const alerts = ((await g.admin.get(`/api/groups/${g.groupId}/billing/alerts`)).json.alerts as { type: string }[]).map((a) => a.type);
    expect(alerts).not.toContain("group.auto_top_up.failed");
    await expectLedgerConsistent(server.deps.database);
  });
});
