import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pressHostedButton } from "../../src/emulators/shared/test-support.js";
import { buyThroughCheckout } from "../support/billing.js";
import { createApiKeyFor, createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { eventually, OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

// credits.md: a group with billing is deleted only when no plan is active ("cancel first"); the
// refusal says "delete once its period has ended". A plan cancelling at its period end is still
// the customer's until then: resumed in the portal, Stripe bills every later month.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());
const q = <T,>(sql: string, params: unknown[]) => server.deps.database.query<T>(sql, params);

describe("deleting a group whose plan cancels at its period end", () => {
  it("is refused until the period has ended, so a plan resumed in the portal never bills a deleted group", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: false, websites: 1 });
    const groupId = f.groupA.id;
    const [org, grp, site] = [`org_${groupId.slice(0, 8)}`, `grp_${groupId.slice(0, 8)}`, `site_${groupId.slice(0, 8)}`];
    await q("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
    await q("update groups set external_id = $2 where id = $1", [groupId, grp]);
    await q("update websites set external_id = $2 where id = $1", [f.websitesA[0]!.id, site]);
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    await buyThroughCheckout(server, admin, groupId, "monthly", 1);
    const subscriptionId = (await q<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [groupId])).rows[0]!.s;
    const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(server.deps.database, f.org.id)}` });
    expect((await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 1000, idempotencyKey: crypto.randomUUID() })).status).toBe(200);
    const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
    expect((await op.delete(`/api/operator/websites/${site}`)).status).toBe(204);

    const portalUrl = (await admin.post(`/api/groups/${groupId}/billing/portal`)).json.url as string;
    expect((await pressHostedButton({ pageUrl: portalUrl, button: "Cancel plan" })).status).toBe(303);
    await eventually(async () => (await admin.get(`/api/groups/${groupId}/billing`)).json.plan?.status === "canceling");

    const refused = await op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
    expect([refused.status, refused.json?.error?.message], "a group whose plan runs until its period end was deleted").toEqual([409, expect.stringMatching(/period has ended/)]);

    // The period ends: Stripe ends the subscription, and the group can go.
    await server.stripe.advanceSubscription(subscriptionId);
    await eventually(async () => (await q<{ s: string }>("select status as s from plans where group_id = $1", [groupId])).rows[0]!.s === "canceled");
    expect((await op.delete(`/api/operator/orgs/${org}/groups/${grp}`)).status).toBe(204);
  });
});
