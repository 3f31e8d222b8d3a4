import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

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
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = server.deps.database.transaction(async (q) => {
      await q("select 1 from membership_groups where group_id = $1 for update", [groupId]);
      locked();
      await held;
    });
    await isLocked;
    const deleting = op.delete(`/api/operator/orgs/${org}/groups/${grp}`);
    await waitForLockWait(server, "membership_groups");
    const buying = admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "one_time", quantity: 3 });
    await waitForLockWait(server, "billing_profiles");
    release();
    await holder;

    expect((await deleting).status).toBe(204);
    const bought = await buying;
    const charges = server.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId);
    expect(charges, `the deleted group's purchase was charged (answered ${bought.status} ${bought.text})`).toHaveLength(0);
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupId]);
    expect(rows[0]!.n).toBe(0);
    expect(bought.status).toBe(404);
  });
});

/** Until some statement waits for a row lock on `table`'s rows (pg_locks of a waiting backend). */
async function waitForLockWait(server: TestServer, table: string) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await server.deps.database.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike $1`,
      [`%${table}%`],
    );
    if (rows[0]!.n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no statement waited for a lock on ${table}`);
}
