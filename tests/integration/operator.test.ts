import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseSnapshot, snapshotDiff } from "../chaos/lib/snapshot.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import type { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

const SIGNING_SECRET = "handoff-test-secret-0123456789-abcdefgh";

let server: TestServer;
let op: Client;

beforeAll(async () => {
  server = await startTestServer({ OPERATOR_SIGNING_SECRET: SIGNING_SECRET });
  op = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
});
afterAll(() => server?.close());

const uniq = () => crypto.randomUUID().slice(0, 8);
const put = (path: string, body: unknown) => op.request("PUT", path, body);
const snapshot = () => databaseSnapshot(server.deps.database);

/** One organization as the platform sees it: two groups, two websites, a group admin and an org admin. */
function platformState(t = uniq()) {
  const org = `org_${t}`;
  return {
    org,
    groups: [`grp_a_${t}`, `grp_b_${t}`],
    websites: [`site_1_${t}`, `site_2_${t}`],
    users: [`user_ga_${t}`, `user_oa_${t}`],
    calls: [
      ["PUT", `/api/operator/orgs/${org}`, { name: `Acme ${t}`, partnerManaged: false }],
      ["PUT", `/api/operator/orgs/${org}/groups/grp_a_${t}`, { name: "Online Stores" }],
      ["PUT", `/api/operator/orgs/${org}/groups/grp_b_${t}`, { name: "Marketing Sites" }],
      ["PUT", `/api/operator/websites/site_1_${t}`, { orgExternalId: org, groupExternalId: `grp_a_${t}`, name: "Shoes", url: `https://shoes-${t}.example`, iconUrl: `https://shoes-${t}.example/icon.png` }],
      ["PUT", `/api/operator/websites/site_2_${t}`, { orgExternalId: org, groupExternalId: `grp_a_${t}`, name: "Hats", url: `https://hats-${t}.example` }],
      ["PUT", `/api/operator/users/user_ga_${t}`, { email: `Dana-${t}@Acme.example`, name: "Dana", memberships: [{ orgExternalId: org, role: "group_admin", groupExternalIds: [`grp_a_${t}`] }] }],
      ["PUT", `/api/operator/users/user_oa_${t}`, { email: `olu-${t}@acme.example`, name: "Olu", memberships: [{ orgExternalId: org, role: "org_admin" }] }],
    ] as const,
  };
}

async function sync(state: ReturnType<typeof platformState>) {
  const answers = [];
  for (const [method, path, body] of state.calls) {
    const r = await op.request(method, path, body);
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
    answers.push(r.json);
  }
  return answers;
}

const handoffToken = (claims: { sub: string; email?: string; name?: string }, opts: { secret?: string; expiresIn?: string | number; jti?: string | null } = {}) => {
  let jwt = new SignJWT({ email: claims.email ?? "x@acme.example", name: claims.name ?? "X" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? "2m");
  if (opts.jti !== null) jwt = jwt.setJti(opts.jti ?? crypto.randomUUID());
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SIGNING_SECRET));
};
const handoff = (token: string, next?: string) =>
  server.client().get(`/auth/handoff?token=${encodeURIComponent(token)}${next === undefined ? "" : `&next=${encodeURIComponent(next)}`}`);
const sessionCount = async () => (await server.deps.database.query<{ n: number }>("select count(*)::int as n from sessions")).rows[0]!.n;

describe("sync", () => {
  it("creates what the platform sends, and a full replay changes nothing and answers the same", async () => {
    const state = platformState();
    const first = await sync(state);
    expect(first[0]).toMatchObject({ externalId: state.org, partnerManaged: false, partnerAccountId: null });
    expect(first[5]).toMatchObject({ email: expect.stringMatching(/^dana-.*@acme\.example$/), memberships: [{ role: "group_admin", groupExternalIds: [state.groups[0]] }] });
    const before = await snapshot();
    const second = await sync(state);
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
    expect(second).toEqual(first);

    // What a user notices: the org admin sees both groups with the websites where the platform put them.
    const admin = server.client();
    expect((await handoff(await handoffToken({ sub: state.users[1]! }))).status).toBe(302);
    const signedIn = await handoff(await handoffToken({ sub: state.users[1]! }));
    admin.cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    const groups = await admin.get(`/api/orgs/${first[0].id}/groups`);
    expect(groups.json.groups.map((g: { name: string; websiteCount: number }) => [g.name, g.websiteCount])).toEqual([
      ["Marketing Sites", 0],
      ["Online Stores", 2],
    ]);
  });

  it("applies changes: a rename, a lowered role and a removed group take effect on the user's next request", async () => {
    const state = platformState();
    const [org, groupA] = await sync(state);
    const user = server.client();
    const r = await handoff(await handoffToken({ sub: state.users[0]! }));
    user.cookie = r.headers.get("set-cookie")!.split(";")[0]!;
    expect((await user.get(`/api/groups/${groupA.id}/billing`)).status).toBe(200);
    expect((await put(`/api/operator/orgs/${state.org}/groups/${state.groups[0]}`, { name: "Stores" })).json.name).toBe("Stores");
    expect((await user.get(`/api/groups/${groupA.id}`)).json.name).toBe("Stores");
    const lowered = await put(`/api/operator/users/${state.users[0]}`, { email: `dana-${uniq()}@acme.example`, name: "Dana", memberships: [{ orgExternalId: state.org, role: "member" }] });
    expect(lowered.status).toBe(200);
    expect((await user.get(`/api/groups/${groupA.id}/billing`)).status).toBe(403);
    await put(`/api/operator/users/${state.users[0]}`, { email: `dana-${uniq()}@acme.example`, name: "Dana", memberships: [] });
    expect((await user.get(`/api/orgs/${org.id}/groups`)).status).toBe(404);
  });

  it("links a password user by email and leaves their memberships in organizations it does not manage", async () => {
    const local = await createOrgFixture(server.db); // an organization of our own, without an externalId
    const state = platformState();
    const [, groupA] = await sync(state);
    const linked = await put(`/api/operator/users/user_link_${uniq()}`, { email: local.orgAdmin, name: "Ada", memberships: [{ orgExternalId: state.org, role: "org_admin" }] });
    expect(linked.status).toBe(200);
    const user = await server.client().login(local.orgAdmin, TEST_PASSWORD);
    expect((await user.get(`/api/groups/${groupA.id}/billing`)).status).toBe(200);
    // Still the org admin of the organization the platform cannot name, even after its memberships are emptied.
    expect((await user.get(`/api/groups/${local.groupA.id}/billing`)).status).toBe(200);
    await put(`/api/operator/users/${linked.json.externalId}`, { email: local.orgAdmin, name: "Ada", memberships: [] });
    expect((await user.get(`/api/groups/${groupA.id}/billing`)).status).toBe(404);
    expect((await user.get(`/api/groups/${local.groupA.id}/billing`)).status).toBe(200);
  });

  it("refuses references to what was not synced, and bad bodies, changing nothing", async () => {
    const state = platformState();
    await sync(state);
    const before = await snapshot();
    const t = uniq();
    const cases: [string, unknown, number][] = [
      [`/api/operator/orgs/nope_${t}/groups/g`, { name: "G" }, 404],
      [`/api/operator/websites/w_${t}`, { orgExternalId: state.org, groupExternalId: `nope_${t}`, name: "W", url: "https://w.example" }, 404],
      [`/api/operator/users/u_${t}`, { email: `u-${t}@x.example`, name: "U", memberships: [{ orgExternalId: state.org, role: "group_admin", groupExternalIds: [`nope_${t}`] }] }, 404],
      [`/api/operator/orgs/p_${t}`, { name: "P", partnerManaged: true }, 400],
      [`/api/operator/orgs/p_${t}`, { name: "x".repeat(201), partnerManaged: false }, 400],
      [`/api/operator/orgs/p_${t}`, { name: "Acme \uD800", partnerManaged: false }, 400],
      [`/api/operator/orgs/p_${t}/groups/g`, { name: "G\u0000" }, 400],
      [`/api/operator/orgs/bad%2Fid`, { name: "P", partnerManaged: false }, 400],
      [`/api/operator/websites/w_${t}`, { orgExternalId: state.org, groupExternalId: null, name: "W", url: "javascript:alert(1)" }, 400],
      [`/api/operator/users/u_${t}`, { email: "not-an-email", name: "U", memberships: [] }, 400],
      [`/api/operator/users/u_${t}`, { email: `u-${t}@x.example`, name: "U", memberships: [{ orgExternalId: state.org, role: "member", groupExternalIds: [state.groups[0]] }] }, 400],
      // The email of another platform user.
      [`/api/operator/users/u_${t}`, { email: (state.calls[6][2] as { email: string }).email, name: "U", memberships: [] }, 409],
    ];
    for (const [path, body, status] of cases) {
      const r = await put(path, body);
      expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text}`).toBe(status);
      expect(r.json.error.message).toBeTruthy();
    }
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
  });
});

describe("moving websites", () => {
  it("keeps the website's own credits and draws its next debit on the new group's pool", async () => {
    const state = platformState();
    const [org, groupA, groupB, site] = await sync(state);
    await fundGroupPool(server.deps.database, groupA.id, { oneTime: 100 });
    await fundGroupPool(server.deps.database, groupB.id, { oneTime: 500 });
    expect((await op.post(`/api/v1/websites/${site.id}/grants`, { credits: 30, idempotencyKey: uniq() })).status).toBe(201);
    const api = server.client({ authorization: `Bearer ${await createApiKeyFor(server.deps.database, org.id)}` });
    expect((await api.post("/api/v1/usage", { websiteId: site.id, credits: 10, idempotencyKey: uniq() })).json.balance).toEqual({ website: 20, groupMonthly: 0, groupOneTime: 100 });

    const moved = await put(`/api/operator/websites/${state.websites[0]}`, { orgExternalId: state.org, groupExternalId: state.groups[1], name: "Shoes", url: "https://shoes.example" });
    expect(moved.status).toBe(200);
    expect(moved.json.groupExternalId).toBe(state.groups[1]);
    expect((await api.get(`/api/v1/websites/${site.id}/balance`)).json).toEqual({ website: 20, groupMonthly: 0, groupOneTime: 500, available: 520, poolCapLeft: null });
    const debit = await api.post("/api/v1/usage", { websiteId: site.id, credits: 50, idempotencyKey: uniq() });
    expect(debit.json.parts).toEqual([
      { source: "website", credits: 20 },
      { source: "group_one_time", credits: 30 },
    ]);
    expect(debit.json.balance).toEqual({ website: 0, groupMonthly: 0, groupOneTime: 470 });
    // The old group's pool was not touched.
    const { rows } = await server.deps.database.query<{ left: number }>("select sum(remaining)::int as left from credit_grants where group_id = $1", [groupA.id]);
    expect(rows[0]!.left).toBe(100);
    await expectLedgerConsistent(server.deps.database);
  });

  it("clears the website's pool cap when it moves group, so moving back does not bring the old cap back", async () => {
    const state = platformState();
    const [org, groupA, , site] = await sync(state);
    await fundGroupPool(server.deps.database, groupA.id, { oneTime: 100 });
    await server.deps.database.query(
      "insert into website_pool_caps (website_id, group_id, monthly_credits, used_month, used_credits) values ($1, $2, 0, to_char(now() at time zone 'utc', 'YYYY-MM'), 0)",
      [site.id, groupA.id],
    );
    const api = server.client({ authorization: `Bearer ${await createApiKeyFor(server.deps.database, org.id)}` });
    const capped = await api.post("/api/v1/usage", { websiteId: site.id, credits: 1, idempotencyKey: uniq() });
    expect(capped.json.error?.code).toBe("pool_cap_reached");
    const move = (group: string) => put(`/api/operator/websites/${state.websites[0]}`, { orgExternalId: state.org, groupExternalId: group, name: "Shoes", url: "https://shoes.example" });
    expect((await move(state.groups[1]!)).status).toBe(200);
    expect((await move(state.groups[0]!)).status).toBe(200);
    expect((await api.post("/api/v1/usage", { websiteId: site.id, credits: 1, idempotencyKey: uniq() })).status).toBe(200);
  });

  it("answers 409 for a move to another organization and changes nothing", async () => {
    const a = platformState();
    const b = platformState();
    await sync(a);
    await sync(b);
    const before = await snapshot();
    const r = await put(`/api/operator/websites/${a.websites[0]}`, { orgExternalId: b.org, groupExternalId: b.groups[0], name: "Shoes", url: "https://shoes.example" });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/another organization/);
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
  });
});

describe("deletes never lose money", () => {
  it("answers 409 saying what to do first, changes nothing, and deletes once that is done", async () => {
    const state = platformState();
    const [org, groupA, groupB, site1, site2] = await sync(state);
    await fundGroupPool(server.deps.database, groupB.id, { oneTime: 5 });
    await op.post(`/api/v1/websites/${site2.id}/grants`, { credits: 7, idempotencyKey: uniq() });
    const del = (path: string) => op.delete(path);
    const before = await snapshot();
    const refusals: [string, RegExp][] = [
      [`/api/operator/orgs/${state.org}/groups/${state.groups[0]}`, /2 website\(s\).*Move them/],
      [`/api/operator/orgs/${state.org}/groups/${state.groups[1]}`, /5 credits are left/],
      [`/api/operator/orgs/${state.org}`, /2 website\(s\)/],
      [`/api/operator/websites/${state.websites[1]}`, /7 credits of its own/],
    ];
    for (const [path, message] of refusals) {
      const r = await del(path);
      expect(r.status, `${path}: ${r.text}`).toBe(409);
      expect(r.json.error.code).toBe("conflict");
      expect(r.json.error.message).toMatch(message);
    }
    expect(snapshotDiff(before, await snapshot())).toEqual([]);

    // A website without credits of its own goes; the one with credits goes once they are spent.
    expect((await del(`/api/operator/websites/${state.websites[0]}`)).status).toBe(204);
    const api = server.client({ authorization: `Bearer ${await createApiKeyFor(server.deps.database, org.id)}` });
    expect((await api.post("/api/v1/usage", { websiteId: site2.id, credits: 7, idempotencyKey: uniq() })).status).toBe(200);
    expect((await del(`/api/operator/websites/${state.websites[1]}`)).status).toBe(204);
    // A deleted website is gone for its organization's API key too.
    expect((await api.get(`/api/v1/websites/${site1.id}/balance`)).status).toBe(404);
    expect((await api.post("/api/v1/usage", { websiteId: site1.id, credits: 1, idempotencyKey: uniq() })).status).toBe(404);
    expect((await del(`/api/operator/orgs/${state.org}/groups/${state.groups[0]}`)).status).toBe(204);

    // Group B: an active monthly plan must be cancelled first, and its credits spent.
    await server.deps.database.query(
      `insert into plans (group_id, provider, quantity, status, current_period_start, current_period_end) values ($1, 'stripe', 1, 'active', now() - interval '1 day', now() + interval '29 days')`,
      [groupB.id],
    );
    expect((await del(`/api/operator/orgs/${state.org}`)).json.error.message).toMatch(/Cancel it first/);
    await server.deps.database.query("update plans set status = 'canceled' where group_id = $1", [groupB.id]);
    expect((await del(`/api/operator/orgs/${state.org}`)).json.error.message).toMatch(/5 credits are left/);
    await server.deps.database.query(
      "insert into purchases (group_id, type, quantity, credits, amount, currency, provider, status) values ($1, 'one_time', 1, 1000, 1000, 'usd', 'partner', 'pending')",
      [groupB.id],
    );
    const site3 = (await put(`/api/operator/websites/site_3_${uniq()}`, { orgExternalId: state.org, groupExternalId: state.groups[1], name: "Socks", url: "https://socks.example" })).json;
    expect((await api.post("/api/v1/usage", { websiteId: site3.id, credits: 5, idempotencyKey: uniq() })).status).toBe(200);
    await put(`/api/operator/websites/${site3.externalId}`, { orgExternalId: state.org, groupExternalId: null, name: "Socks", url: "https://socks.example" });
    await del(`/api/operator/websites/${site3.externalId}`);
    expect((await del(`/api/operator/orgs/${state.org}`)).json.error.message).toMatch(/waiting for its payment/);
    await server.deps.database.query("update purchases set status = 'failed' where group_id = $1", [groupB.id]);

    const admin = server.client();
    admin.cookie = (await handoff(await handoffToken({ sub: state.users[1]! }))).headers.get("set-cookie")!.split(";")[0]!;
    expect((await admin.get(`/api/orgs/${org.id}/groups`)).status).toBe(200);
    expect((await del(`/api/operator/orgs/${state.org}`)).status).toBe(204);
    // Its members lose it, its API keys stop, its billing records stay; a replayed delete is fine.
    expect((await admin.get(`/api/orgs/${org.id}/groups`)).status).toBe(404);
    expect((await api.get(`/api/v1/websites/${site2.id}/balance`)).status).toBe(401);
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1", [groupB.id]);
    expect(rows[0]!.n).toBe(1);
    expect((await del(`/api/operator/orgs/${state.org}`)).status).toBe(204);
    // The platform may create the organization again under the same id: a new, empty one.
    const again = await put(`/api/operator/orgs/${state.org}`, { name: "Acme again", partnerManaged: false });
    expect(again.status).toBe(200);
    expect(again.json.id).not.toBe(org.id);
    void groupA;
    await expectLedgerConsistent(server.deps.database);
  });

  it("refuses to flip partnerManaged once a group has billing enabled", async () => {
    const state = platformState();
    const [, groupA] = await sync(state);
    const partner = { name: "Acme", partnerManaged: true, partnerAccountId: "pa_42" };
    expect((await put(`/api/operator/orgs/${state.org}`, partner)).json.partnerManaged).toBe(true);
    expect((await put(`/api/operator/orgs/${state.org}`, { name: "Acme", partnerManaged: false })).status).toBe(200);
    await fundGroupPool(server.deps.database, groupA.id, {});
    const before = await snapshot();
    const r = await put(`/api/operator/orgs/${state.org}`, partner);
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/billing enabled/);
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
    expect((await put(`/api/operator/orgs/${state.org}`, { name: "Acme Inc", partnerManaged: false })).status).toBe(200);
  });

  it("ends a deleted user's sessions at once", async () => {
    const state = platformState();
    await sync(state);
    const user = server.client();
    user.cookie = (await handoff(await handoffToken({ sub: state.users[0]! }))).headers.get("set-cookie")!.split(";")[0]!;
    expect((await user.get("/api/session")).status).toBe(200);
    expect((await op.delete(`/api/operator/users/${state.users[0]}`)).status).toBe(204);
    expect((await user.get("/api/session")).status).toBe(401);
    expect((await handoff(await handoffToken({ sub: state.users[0]! }))).status).toBe(401);
  });
});

describe("moving an organization to another partner account", () => {
  async function partnerGroup() {
    const f = await createOrgFixture(server.db, { partnerManaged: true });
    const externalId = `org_move_${uniq()}`;
    await server.deps.database.query("update organizations set external_id = $2 where id = $1", [f.org.id, externalId]);
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    expect((await admin.post(`/api/groups/${f.groupA.id}/billing/enable`)).status).toBe(200);
    const buy = (key: string) => admin.post(`/api/groups/${f.groupA.id}/billing/purchases`, { type: "one_time", quantity: 1 }, { "idempotency-key": key });
    const move = (accountId: string) => put(`/api/operator/orgs/${externalId}`, { name: f.org.name, partnerManaged: true, partnerAccountId: accountId });
    return { f, admin, buy, move };
  }

  it("sends the groups' next charges to the new account, opens its portal, and keeps the earlier charges in the history", async () => {
    const { f, admin, buy, move } = await partnerGroup();
    expect((await buy("before")).json.status).toBe("completed");
    const newAccount = `pa_new_${uniq()}`;
    const r = await move(newAccount);
    expect([r.status, r.json.partnerAccountId]).toEqual([200, newAccount]);
    expect((await buy("after")).json.status).toBe("completed");
    const accounts = server.partner
      .charges()
      .filter((c) => c.accountId === f.org.partnerAccountId || c.accountId === newAccount)
      .map((c) => c.accountId);
    expect(accounts).toEqual([f.org.partnerAccountId, newAccount]);
    expect((await admin.post(`/api/groups/${f.groupA.id}/billing/portal`)).json.url).toMatch(new RegExp(`/${newAccount}$`));
    const invoices = (await admin.get(`/api/groups/${f.groupA.id}/billing/invoices`)).json.invoices as { total: { amount: number } }[];
    expect(invoices).toHaveLength(2);
  });

  it("is refused while a charge to the current account is settling, and changes nothing", async () => {
    const { f, buy, move } = await partnerGroup();
    server.partner.setFault("hang");
    try {
      expect((await buy("in-flight")).status).toBe(202);
    } finally {
      server.partner.setFault("none");
    }
    const r = await move(`pa_new_${uniq()}`);
    expect([r.status, r.json.error?.code]).toEqual([409, "conflict"]);
    const { rows } = await server.deps.database.query<{ o: string; p: string }>(
      "select o.partner_account_id as o, bp.partner_account_id as p from organizations o join groups g on g.org_id = o.id join billing_profiles bp on bp.group_id = g.id where o.id = $1",
      [f.org.id],
    );
    expect(rows).toEqual([{ o: f.org.partnerAccountId, p: f.org.partnerAccountId }]);
  });
});

describe("operator key", () => {
  const paths = (t: string) =>
    [
      ["PUT", `/api/operator/orgs/o_${t}`, { name: "O", partnerManaged: false }],
      ["DELETE", `/api/operator/orgs/o_${t}`, undefined],
      ["PUT", `/api/operator/orgs/o_${t}/groups/g`, { name: "G" }],
      ["DELETE", `/api/operator/orgs/o_${t}/groups/g`, undefined],
      ["PUT", `/api/operator/orgs/o_${t}/groups/g/plan`, { nextPeriodPackages: 1, cancelAtPeriodEnd: true }],
      ["PUT", `/api/operator/websites/w_${t}`, { orgExternalId: `o_${t}`, groupExternalId: null, name: "W", url: "https://w.example" }],
      ["DELETE", `/api/operator/websites/w_${t}`, undefined],
      ["PUT", `/api/operator/users/u_${t}`, { email: `u-${t}@x.example`, name: "U", memberships: [] }],
      ["DELETE", `/api/operator/users/u_${t}`, undefined],
      ["GET", "/api/operator/orgs", undefined],
      ["POST", "/api/operator/anything", {}],
    ] as const;

  it("answers 401 to a wrong or missing key on every operator path, changing nothing", async () => {
    const before = await snapshot();
    for (const auth of [`Bearer ${OPERATOR_KEY}x`, `Bearer ${OPERATOR_KEY.slice(0, -1)}`, OPERATOR_KEY, "Bearer ", undefined]) {
      const c = server.client(auth === undefined ? {} : { authorization: auth });
      for (const [method, path, body] of paths(uniq())) {
        const r = await c.request(method, path, body);
        expect(r.status, `${method} ${path} with ${auth}`).toBe(401);
        expect(r.json.error.code).toBe("unauthenticated");
      }
    }
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
  });

  it("answers 404 on every operator path when OPERATOR_API_KEY is not set, whatever the key", async () => {
    const closed = await startTestServer({ OPERATOR_API_KEY: "" });
    try {
      for (const auth of [`Bearer ${OPERATOR_KEY}`, "Bearer ", undefined]) {
        const c = closed.client(auth === undefined ? {} : { authorization: auth });
        for (const [method, path, body] of paths(uniq())) {
          const r = await c.request(method, path, body);
          expect(r.status, `${method} ${path}`).toBe(404);
        }
      }
      // Without the operator, nobody grants website credits: an organization's key still gets 403.
      const { rows } = await closed.deps.database.query<{ id: string }>("insert into organizations (name) values ('O') returning id");
      const { rows: sites } = await closed.deps.database.query<{ id: string }>("insert into websites (org_id, name, url) values ($1, 'W', 'https://w.example') returning id", [rows[0]!.id]);
      const key = await createApiKeyFor(closed.deps.database, rows[0]!.id);
      for (const k of [key, OPERATOR_KEY]) {
        const r = await closed.client({ authorization: `Bearer ${k}` }).post(`/api/v1/websites/${sites[0]!.id}/grants`, { credits: 1, idempotencyKey: "g" });
        expect(r.status).toBe(k === key ? 403 : 401);
      }
    } finally {
      await closed.close();
    }
  });

  it("describes every operator operation in the OpenAPI document with a summary and examples", async () => {
    const doc = (await server.client().get("/api/openapi.json")).json;
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .filter(([p]) => p.startsWith("/api/operator/"))
      .flatMap(([p, methods]) => Object.entries(methods).map(([m, o]) => ({ id: `${m} ${p}`, o })));
    expect(ops.map((x) => x.id).sort()).toEqual([
      "delete /api/operator/orgs/{externalId}",
      "delete /api/operator/orgs/{orgExternalId}/groups/{externalId}",
      "delete /api/operator/users/{externalId}",
      "delete /api/operator/websites/{externalId}",
      "put /api/operator/orgs/{externalId}",
      "put /api/operator/orgs/{orgExternalId}/groups/{externalId}",
      "put /api/operator/orgs/{orgExternalId}/groups/{externalId}/plan",
      "put /api/operator/users/{externalId}",
      "put /api/operator/websites/{externalId}",
    ]);
    for (const { id, o } of ops) {
      expect(o.summary, id).toBeTruthy();
      if (id.startsWith("put")) {
        const ref = o.requestBody.content["application/json"].schema.$ref.split("/").pop();
        expect(doc.components.schemas[ref].example, id).toBeTruthy();
      }
    }
  });
});

describe("sign-in handoff", () => {
  it("signs a synced user in once and redirects to a path of ours", async () => {
    const state = platformState();
    const [, groupA] = await sync(state);
    const token = await handoffToken({ sub: state.users[0]! });
    const next = `/groups/${groupA.id}/billing`;
    const r = await handoff(token, next);
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe(next);
    const user = server.client();
    user.cookie = r.headers.get("set-cookie")!.split(";")[0]!;
    expect(r.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect((await user.get("/api/session")).json.user.email).toMatch(/^dana-/);
    expect((await user.get(`/api/groups/${groupA.id}/billing`)).status).toBe(200);

    // The same token again, even concurrently, creates nothing.
    const sessions = await sessionCount();
    const replays = await Promise.all(Array.from({ length: 5 }, () => handoff(token, next)));
    expect(replays.map((x) => x.status)).toEqual([401, 401, 401, 401, 401]);
    expect(replays[0]!.headers.get("set-cookie")).toBeNull();
    expect(replays[0]!.headers.get("content-type")).toMatch(/text\/html/);
    expect(replays[0]!.text).toMatch(/already used/);
    expect(await sessionCount()).toBe(sessions);
  });

  it("lets exactly one of concurrent uses of a fresh token through", async () => {
    const state = platformState();
    await sync(state);
    const token = await handoffToken({ sub: state.users[0]! });
    const rs = await Promise.all(Array.from({ length: 6 }, () => handoff(token)));
    expect(rs.map((x) => x.status).sort()).toEqual([302, 401, 401, 401, 401, 401]);
  });

  it("refuses expired, long-lived, wrongly signed, unsigned, incomplete and unknown-user tokens with a plain 401 page, creating nothing", async () => {
    const state = platformState();
    await sync(state);
    const sub = state.users[0]!;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ sub, email: "x", name: "x", jti: uniq(), exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString("base64url")}.`;
    const bad: [string, string, RegExp][] = [
      ["expired", await handoffToken({ sub }, { expiresIn: Math.floor(Date.now() / 1000) - 120 }), /expired/],
      ["valid for 10 minutes", await handoffToken({ sub }, { expiresIn: "10m" }), /too long/],
      ["another secret", await handoffToken({ sub }, { secret: "another-secret-0123456789-0123456789" }), /not valid/],
      ["no jti", await handoffToken({ sub }, { jti: null }), /not valid/],
      ["alg none", unsigned, /not valid/],
      ["unknown user", await handoffToken({ sub: `nobody_${uniq()}` }), /do not know/],
      ["garbage", "not.a.jwt", /not valid/],
    ];
    const before = await snapshot();
    for (const [name, token, message] of bad) {
      const r = await handoff(token, "/");
      expect(r.status, name).toBe(401);
      expect(r.text, name).toMatch(message);
      expect(r.headers.get("set-cookie"), name).toBeNull();
    }
    expect((await server.client().get("/auth/handoff")).status).toBe(401);
    expect(snapshotDiff(before, await snapshot())).toEqual([]);
  });

  it("never redirects off-site, whatever next says", async () => {
    const state = platformState();
    await sync(state);
    const cases: [string | undefined, string][] = [
      ["https://evil.example", "/"],
      ["//evil.example", "/"],
      ["/\\evil.example", "/"],
      ["\\\\evil.example", "/"],
      ["/\t/evil.example", "/"],
      ["javascript:alert(1)", "/"],
      ["http:/evil.example", "/"],
      [undefined, "/"],
      ["/groups/abc/billing?tab=history#top", "/groups/abc/billing?tab=history#top"],
      ["/groups/../orgs", "/orgs"],
    ];
    for (const [next, location] of cases) {
      const r = await handoff(await handoffToken({ sub: state.users[0]! }), next);
      expect(r.status, String(next)).toBe(302);
      expect(r.headers.get("location"), String(next)).toBe(location);
    }
  });
});
