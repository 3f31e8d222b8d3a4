import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleAt } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { OPERATOR_KEY, PARTNER_KEY, startTestServer, type TestServer } from "../support/server.js";

// A partner raise's charge that turns up only after its plan ended (the partner committed it late;
// the reseller cancelled the plan meanwhile): the customer paid for added packages, not for a plan.
// It is granted (the partner has no refund), but it must not start a plan that renews and charges
// the partner account every month for something no one bought.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

describe("a partner raise whose charge turns up after its plan ended", () => {
  it("is granted its month, and starts no plan that renews", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: true });
    const groupId = f.groupA.id;
    const [org, grp] = [`org_${groupId.slice(0, 8)}`, `grp_${groupId.slice(0, 8)}`];
    await q("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
    await q("update groups set external_id = $2 where id = $1", [groupId, grp]);
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    expect((await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 2 })).json.status).toBe("completed");
    const chargesOf = () => server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId);

    // A raise while the partner does not answer: pending, then failed once the partner has no charge for it.
    server.partner.setFault("hang");
    let r;
    try {
      r = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 1 });
    } finally {
      server.partner.setFault("none");
    }
    expect([r.status, r.json.status]).toEqual([202, "pending"]);
    const id = r.json.purchaseId as string;
    const p = (await q<{ amount: number; currency: string; created_at: Date }>("select amount, currency, created_at from purchases where id = $1", [id])).rows[0]!;
    await settleAt(server, new Date(p.created_at.getTime() + 61_000));
    expect((await q<{ s: string }>("select status as s from purchases where id = $1", [id])).rows[0]!.s).toBe("failed");

    // The raise was bought an hour before the period's end; the reseller cancels, and the plan ends.
    const end = new Date(p.created_at.getTime() + 3600_000);
    await q("update plans set current_period_end = $2 where group_id = $1", [groupId, end]);
    await q("update credit_grants set expires_at = $2 where group_id = $1 and kind = 'monthly'", [groupId, end]);
    const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
    expect((await op.request("PUT", `/api/operator/orgs/${org}/groups/${grp}/plan`, { nextPeriodPackages: 2, cancelAtPeriodEnd: true })).status).toBe(200);
    await server.billing.renewDuePartnerPlans(new Date(end.getTime() + 1000));
    expect((await q<{ s: string }>("select status as s from plans where group_id = $1", [groupId])).rows[0]!.s).toBe("canceled");
    expect(chargesOf()).toHaveLength(1);

    // The partner commits the raise's charge late: the customer is billed for one package.
    const res = await fetch(`${server.partner.url}/v1/charges`, {
      method: "POST",
      headers: { authorization: `Bearer ${PARTNER_KEY}`, "content-type": "application/json", "idempotency-key": `purchase:${id}` },
      body: JSON.stringify({ accountId: f.org.partnerAccountId, amount: Number(p.amount), currency: p.currency, description: "Monthly credits · 1 package (1,000 credits)" }),
    });
    expect(res.status).toBe(201);
    const readBack = new Date(end.getTime() + 2 * 3600_000);
    await settleAt(server, readBack);
    expect((await q<{ s: string }>("select status as s from purchases where id = $1", [id])).rows[0]!.s).toBe("completed");
    const plan = (await q<{ status: string; quantity: number; cancel_at_period_end: boolean; current_period_end: Date }>(
      "select status, quantity, cancel_at_period_end, current_period_end from plans where group_id = $1",
      [groupId],
    )).rows[0]!;
    expect({ status: plan.status, quantity: plan.quantity }).toEqual({ status: "active", quantity: 1 });
    expect(plan.cancel_at_period_end, "a late raise started a plan that renews every month").toBe(true);

    // Its month ends: nothing more is charged.
    await server.billing.renewDuePartnerPlans(new Date(plan.current_period_end.getTime() + 1000));
    expect((await q<{ s: string }>("select status as s from plans where group_id = $1", [groupId])).rows[0]!.s).toBe("canceled");
    expect(chargesOf()).toHaveLength(2);
    await expectLedgerConsistent(server.deps.database);
  });
});
