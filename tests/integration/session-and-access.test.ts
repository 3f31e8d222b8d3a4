import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrgFixture, TEST_PASSWORD, type OrgFixture } from "../support/factories.js";
import { Client } from "../support/http.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let mine: OrgFixture;
let other: OrgFixture;

beforeAll(async () => {
  server = await startTestServer();
  mine = await createOrgFixture(server.db);
  other = await createOrgFixture(server.db);
});
afterAll(() => server?.close());

const as = async (email: string | null) => (email ? server.client().login(email, TEST_PASSWORD) : server.client());

describe("session", () => {
  it("signs in with the right password and sets an HttpOnly SameSite cookie", async () => {
    const r = await server.client().post("/api/session", { email: mine.orgAdmin, password: TEST_PASSWORD });
    expect(r.status).toBe(200);
    expect(r.json.user.email).toBe(mine.orgAdmin);
    const cookie = r.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
  });

  it("rejects a wrong password with 401 and no cookie", async () => {
    const r = await server.client().post("/api/session", { email: mine.orgAdmin, password: "nope" });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("unauthenticated");
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  it("returns the user and memberships, and logout ends the session", async () => {
    const c = await as(mine.groupAdmin);
    const s = await c.get("/api/session");
    expect(s.status).toBe(200);
    expect(s.json.memberships).toEqual([{ orgId: mine.org.id, role: "group_admin", groupIds: [mine.groupA.id] }]);
    const stolenCookie = c.cookie;
    expect((await c.delete("/api/session")).status).toBe(204);
    const replay = new Client(server.url, { cookie: stolenCookie });
    expect((await replay.get("/api/session")).status).toBe(401);
  });

  it("slows repeated failed sign-ins from one address for one email (429 with Retry-After)", async () => {
    const fixture = await createOrgFixture(server.db, { websites: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await server.client().post("/api/session", { email: fixture.member, password: "wrong" })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // From this address even the right password waits (tests/integration/security.test.ts covers other addresses).
    const r = await server.client().post("/api/session", { email: fixture.member, password: TEST_PASSWORD });
    expect([r.status, r.headers.get("retry-after")]).toEqual([429, "1"]);
  });
});

describe("bad input", () => {
  it.each([
    ["malformed JSON", "{bad"],
    ["wrong types", JSON.stringify({ email: 5, password: true })],
    ["unknown fields", JSON.stringify({ email: "a@b.c", password: "x", admin: true })],
    ["an array", "[]"],
    ["missing fields", "{}"],
  ])("answers 400 invalid_request for %s", async (_name, body) => {
    const r = await server.client().request("POST", "/api/session", body, { "content-type": "application/json" });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
  });

  it("refuses a cookie mutation that is not JSON or comes from another origin", async () => {
    const c = await as(mine.orgAdmin);
    const form = await c.request("POST", `/api/orgs/${mine.org.id}/api-keys`, "name=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(400);
    const cross = await c.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "x" }, { origin: "https://evil.example" });
    expect(cross.status).toBe(403);
    const keys = await c.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "ok" }, { origin: server.deps.publicUrl });
    expect(keys.status).toBe(201);
  });

  it("answers 400 for a malformed id and 404 for an unknown one", async () => {
    const c = await as(mine.orgAdmin);
    expect((await c.get("/api/groups/not-a-uuid")).status).toBe(400);
    expect((await c.get(`/api/groups/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe("access matrix", () => {
  type Who = "anonymous" | "member" | "otherGroupAdmin" | "otherOrgAdmin" | "orgAdmin";
  const who: Who[] = ["anonymous", "member", "otherGroupAdmin", "otherOrgAdmin", "orgAdmin"];
  const emailOf = (w: Who) =>
    ({ anonymous: null, member: mine.member, otherGroupAdmin: mine.groupAdmin, otherOrgAdmin: other.orgAdmin, orgAdmin: mine.orgAdmin })[w];

  // Endpoint x caller -> expected status. "otherGroupAdmin" administers group A, and the targets are group B's.
  const cases: { name: string; call: (c: Client) => Promise<{ status: number; text: string }>; expect: Record<Who, number> }[] = [
    {
      name: "GET /api/orgs/{orgId}/groups",
      call: (c) => c.get(`/api/orgs/${mine.org.id}/groups`),
      expect: { anonymous: 401, member: 403, otherGroupAdmin: 200, otherOrgAdmin: 404, orgAdmin: 200 },
    },
    {
      name: "GET /api/groups/{groupId}",
      call: (c) => c.get(`/api/groups/${mine.groupB.id}`),
      expect: { anonymous: 401, member: 403, otherGroupAdmin: 403, otherOrgAdmin: 404, orgAdmin: 200 },
    },
    {
      name: "POST /api/orgs/{orgId}/api-keys",
      call: (c) => c.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "matrix" }),
      expect: { anonymous: 401, member: 403, otherGroupAdmin: 403, otherOrgAdmin: 404, orgAdmin: 201 },
    },
    {
      name: "GET /api/session",
      call: (c) => c.get(`/api/session`),
      expect: { anonymous: 401, member: 200, otherGroupAdmin: 200, otherOrgAdmin: 200, orgAdmin: 200 },
    },
  ];

  for (const k of cases) {
    for (const w of who) {
      it(`${k.name} as ${w} -> ${k.expect[w]}`, async () => {
        const r = await k.call(await as(emailOf(w)));
        expect(r.status).toBe(k.expect[w]);
        if (r.status >= 400) {
          // Nothing of the target leaks into an error.
          expect(r.text).not.toContain(mine.groupB.name);
          expect(r.text).not.toContain(mine.org.name);
        }
      });
    }
  }

  it("lists only the caller's organizations and groups", async () => {
    const outsider = await as(other.orgAdmin);
    const orgs = await outsider.get("/api/orgs");
    expect(orgs.json.orgs.map((o: { id: string }) => o.id)).toEqual([other.org.id]);
    const groupAdmin = await as(mine.groupAdmin);
    const groups = await groupAdmin.get(`/api/orgs/${mine.org.id}/groups`);
    expect(groups.json.groups.map((g: { id: string }) => g.id)).toEqual([mine.groupA.id]);
  });

  it("shows a group's websites to its admin: exactly that group's, by name", async () => {
    const r = await (await as(mine.groupAdmin)).get(`/api/groups/${mine.groupA.id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: mine.groupA.id, orgId: mine.org.id, name: mine.groupA.name });
    // Group B's website and the website in no group are not in group A.
    expect(r.json.websites.map((w: { name: string }) => w.name).sort()).toEqual(mine.websitesA.map((w) => w.name).sort());
    expect(r.json.websites.map((w: { url: string }) => w.url).sort()).toEqual(mine.websitesA.map((w) => w.url).sort());
  });
});

describe("operations", () => {
  it("serves health, readiness and the OpenAPI document", async () => {
    const c = server.client();
    expect((await c.get("/healthz")).status).toBe(200);
    expect((await c.get("/readyz")).json).toEqual({ ok: true });
    const doc = await c.get("/api/openapi.json");
    expect(doc.json.paths["/api/session"].post).toBeDefined();
    expect(doc.json.paths["/api/orgs/{orgId}/api-keys"].post).toBeDefined();
    expect(doc.json.paths["/api/orgs/{orgId}/api-keys"].get.summary).toBe("List the organization's API keys");
    expect(doc.json.paths["/api/orgs/{orgId}/api-keys/{keyId}"].delete.summary).toBe("Revoke an API key");
  });
});
