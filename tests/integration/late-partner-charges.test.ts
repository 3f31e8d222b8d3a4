import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantCount } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { PARTNER_KEY, startTestServer, type TestServer } from "../support/server.js";

// Partner charges whose outcome was unknown: what the partner ends up charging is what the group is
// granted, however late the partner commits the charge, and whatever the admin changed meanwhile.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
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

/** The settling loop at `at` (the server's clock), as the scheduler runs it. */
async function settleAt(at: Date) {
  server.clock.set(at);
  try {
    await server.billing.settlePendingPurchases();
  } finally {
    server.clock.reset();
  }
}

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
    await settleAt(after(p.created_at, 61_000));
    expect(await purchaseStatus(g, id)).toBe("failed");
    expect(chargesOf(g)).toHaveLength(0);

    // The partner's in-flight request commits after our look-up: the customer is billed.
    await commitAtPartner(g, `purchase:${id}`, p);
    expect(chargesOf(g)).toHaveLength(1);
    await settleAt(after(p.created_at, 62_000));
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
    await settleAt(after(p.created_at, 5 * 3600_000));
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
    await settleAt(after(p.created_at, 61_000));
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
    await settleAt(after(p.created_at, 61_000));
    await settleAt(after(p.created_at, 2 * 3600_000));
    expect(await purchaseStatus(g, id)).toBe("failed");
    expect(await grantCount(server, g.groupId)).toBe(0);
    expect(await invoiceCount(g)).toBe(0);
  });
});
