import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { holdRowLocks, waitForLockWaits } from "../support/locks.js";
import { eventually, OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

// Deleting a group takes its billing lock, checks nothing is at stake, and deletes. A purchase
// whose request was let in before the delete committed (its group was still there when the request
// was checked) must not be recorded and charged after it: its credits would go to a group no one
// can use any more, billed and lost.
const onPostgres = process.env.TEST_DB === "postgres";
const ONLY_POSTGRES = "PostgreSQL only: the delete is held open in one connection while the purchase waits in another; PGlite has one connection";

describe("deleting a group while a purchase comes in", () => {
  let server: TestServer;
  beforeEach((ctx) => ctx.skip(!onPostgres, ONLY_POSTGRES));
  beforeAll(async () => {
    if (!onPostgres) return;
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("a purchase let in before the delete committed charges nothing once the group is gone", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: true, websites: 0 });
    const groupId = f.groupA.id;
    const org = `org_${groupId.slice(0, 8)}`;
    const grp = `grp_${groupId.slice(0, 8)}`;
    await server.deps.database.query("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
    await server.deps.database.query("update groups set external_id = $2 where id = $1", [groupId, grp]);
    const admin = await server.client().login(f.groupAdmin, TEST_PASSWORD);
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });

    // Hold the delete open after it took the group's billing lock: this connection keeps the group's
    // membership rows, which the delete removes after its checks.
    const release = await holdRowLocks(server.deps.database, "select 1 from membership_groups where group_id = $1 for update", [groupId]);
    const deleting = op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
    await waitForLockWaits(server.deps.database, 1, "membership_groups");
    const buying = admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 3 });
    await waitForLockWaits(server.deps.database, 1, "billing_profiles");
    await release();

    expect((await deleting).status).toBe(204);
    const bought = await buying;
    const charges = server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId);
    expect(charges, `the deleted group's purchase was charged (answered ${bought.status} ${bought.text})`).toHaveLength(0);
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId]);
    expect(rows[0]!.n).toBe(0);
    expect(bought.status).toBe(404);
  });
});

describe("an auto top-up of a group being deleted", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CONTROLS_POLL_MS: "50" });
  });
  afterAll(() => server?.close());

  it("a top-up still to be bought holds the delete back, and one started as the delete committed charges nothing", async () => {
    const f = await createOrgFixture(server.db, { partnerManaged: true, websites: 0 });
    const groupId = f.groupA.id;
    const org = `org_${groupId.slice(0, 8)}`;
    const grp = `grp_${groupId.slice(0, 8)}`;
    const q = server.deps.database.query;
    await q("update organizations set external_id = $2 where id = $1", [f.org.id, org]);
    await q("update groups set external_id = $2 where id = $1", [groupId, grp]);
    const admin = await server.client().login(f.groupAdmin, TEST_PASSWORD);
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    const op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
    const chargesOf = () => server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId);
    // A top-up the pool's last change started (in that change's transaction), not yet claimed: the
    // controls and its intent as syncPoolControls writes them, with the claim held off for a moment.
    const startTopUp = async (claimAfterMs: number) => {
      await q(
        `insert into group_controls (group_id, webhook_signing_secret, auto_top_up_enabled, auto_top_up_threshold, auto_top_up_packages, auto_top_up_max_per_month, top_up_seq)
         values ($1, 'whsec_x', true, 500, 1, 5, 0)
         on conflict (group_id) do update set auto_top_up_enabled = true, auto_top_up_threshold = 500, auto_top_up_packages = 1, auto_top_up_max_per_month = 5`,
        [groupId],
      );
      await q(
        `with s as (update group_controls set top_up_seq = top_up_seq + 1 where group_id = $1 returning top_up_seq)
         insert into auto_top_ups (group_id, seq, month, packages, status, claimed_until)
         select $1, s.top_up_seq, to_char(now(), 'YYYY-MM'), 1, 'pending', now() + make_interval(secs => $2::double precision / 1000) from s`,
        [groupId, claimAfterMs],
      );
    };

    await startTopUp(3_000);
    const refused = await op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
    expect([refused.status, refused.text]).toEqual([409, expect.stringMatching(/top-up/)]);
    // It is bought (the group is still there), and its credits hold the delete back until spent.
    await eventually(async () => (await q<{ n: number }>("select count(*)::int as n from auto_top_ups where group_id = $1 and status = 'pending'", [groupId])).rows[0]!.n === 0);
    expect(chargesOf()).toHaveLength(1);
    await q("update auto_top_ups set status = 'failed' where group_id = $1", [groupId]);
    await q("update credit_grants set remaining = 0 where group_id = $1", [groupId]);
    await q("update group_controls set auto_top_up_enabled = false where group_id = $1", [groupId]);

    // The delete's checks ran before the top-up's transaction committed: the delete goes through, and
    // the top-up, claimed after it, must not charge a group that is gone.
    expect((await op.delete(`/api/operator/orgs/${org}/groups/${grp}`)).status).toBe(204);
    await startTopUp(0);
    await eventually(async () => (await q<{ n: number }>("select count(*)::int as n from auto_top_ups where group_id = $1 and status = 'pending'", [groupId])).rows[0]!.n === 0);
    expect(chargesOf(), "the deleted group's auto top-up was charged").toHaveLength(1);
    const { rows } = await q<{ status: string; failure_reason: string | null }>("select status, failure_reason from auto_top_ups where group_id = $1 order by seq desc limit 1", [groupId]);
    expect(rows[0]).toEqual({ status: "failed", failure_reason: expect.stringMatching(/deleted/) });
    // Closed quietly: no "auto top-up failed" alert for a group that is gone, and no next top-up started.
    const alerts = await q<{ type: string }>("select type from alert_outbox where group_id = $1 and type = 'group.auto_top_up.failed'", [groupId]);
    expect(alerts.rows).toEqual([]);
    const { rows: controls } = await q<{ enabled: boolean }>("select auto_top_up_enabled as enabled from group_controls where group_id = $1", [groupId]);
    expect(controls[0]).toEqual({ enabled: true });
  });
});
