import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDirectory } from "../../src/server/demo/seed.js";
import { findDemoSignIn } from "../../src/server/demo/demo-sign-in.js";
import { createTestDatabase } from "../support/database.js";
import { createOrgFixture, TEST_PASSWORD, type OrgFixture } from "../support/factories.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let mine: OrgFixture;
let other: OrgFixture;

beforeAll(async () => {
  server = await startTestServer();
  mine = await createOrgFixture(server.db);
  other = await createOrgFixture(server.db);
});
afterAll(() => server?.close());

const as = (email: string) => server.client().login(email, TEST_PASSWORD);
const balanceWith = (key: string, websiteId: string) =>
  server.client({ authorization: `Bearer ${key}` }).get(`/api/v1/websites/${websiteId}/balance`);

describe("API keys of an organization", () => {
  it("lists the keys newest first with name, prefix and dates, and never the key", async () => {
    const admin = await as(mine.orgAdmin);
    const first = await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "Billing cron" });
    const second = await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "Storefront" });
    expect([first.status, second.status]).toEqual([201, 201]);

    const list = await admin.get(`/api/orgs/${mine.org.id}/api-keys`);
    expect(list.status).toBe(200);
    expect(list.json.apiKeys.map((k: { name: string }) => k.name)).toEqual(["Storefront", "Billing cron"]);
    for (const [listed, created] of [
      [list.json.apiKeys[0], second.json],
      [list.json.apiKeys[1], first.json],
    ]) {
      expect(Object.keys(listed).sort()).toEqual(["createdAt", "id", "lastUsedAt", "name", "prefix"]);
      expect(listed.id).toBe(created.id);
      expect(created.key.startsWith(listed.prefix)).toBe(true);
      expect(listed.prefix.length).toBeLessThan(created.key.length / 2);
      expect(Date.parse(listed.createdAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(listed.lastUsedAt === null || !Number.isNaN(Date.parse(listed.lastUsedAt))).toBe(true);
      expect(list.text).not.toContain(created.key);
    }
    // Another organization's admin sees none of them.
    const theirs = await (await as(other.orgAdmin)).get(`/api/orgs/${other.org.id}/api-keys`);
    expect(theirs.json.apiKeys).toEqual([]);
  });

  it("revokes a key: 204, gone from the list, answered 401 from then on, and the other keys keep working", async () => {
    const admin = await as(mine.orgAdmin);
    const kept = (await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "kept" })).json;
    const doomed = (await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "doomed" })).json;
    const site = mine.websitesA[0]!.id;
    // Used (and so cached by this process) right before it is revoked.
    expect((await balanceWith(doomed.key, site)).status).toBe(200);
    expect((await admin.delete(`/api/orgs/${mine.org.id}/api-keys/${doomed.id}`)).status).toBe(204);
    const after = await balanceWith(doomed.key, site);
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("unauthenticated");
    expect((await balanceWith(kept.key, site)).status).toBe(200);
    const names = (await admin.get(`/api/orgs/${mine.org.id}/api-keys`)).json.apiKeys.map((k: { name: string }) => k.name);
    expect(names).toContain("kept");
    expect(names).not.toContain("doomed");

    // Revoking it again changes nothing.
    expect((await admin.delete(`/api/orgs/${mine.org.id}/api-keys/${doomed.id}`)).status).toBe(204);
    expect((await balanceWith(doomed.key, site)).status).toBe(401);
  });

  it("says when a key was last used (coarsely), and never for a key that was not", async () => {
    const admin = await as(mine.orgAdmin);
    const used = (await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "used" })).json;
    const idle = (await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "idle" })).json;
    expect((await balanceWith(used.key, mine.websitesA[0]!.id)).status).toBe(200);
    const listed = await eventually(async () => {
      const keys = (await admin.get(`/api/orgs/${mine.org.id}/api-keys`)).json.apiKeys as { id: string; lastUsedAt: string | null }[];
      const usedKey = keys.find((k) => k.id === used.id);
      return usedKey?.lastUsedAt ? keys : null;
    });
    expect(Date.parse(listed.find((k) => k.id === used.id)!.lastUsedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(listed.find((k) => k.id === idle.id)!.lastUsedAt).toBeNull();
  });

  it("refuses members, group admins and other organizations, and does not reveal another organization's key", async () => {
    const admin = await as(mine.orgAdmin);
    const key = (await admin.post(`/api/orgs/${mine.org.id}/api-keys`, { name: "guarded" })).json;
    for (const email of [mine.member, mine.groupAdmin]) {
      const c = await as(email);
      expect((await c.get(`/api/orgs/${mine.org.id}/api-keys`)).status).toBe(403);
      expect((await c.delete(`/api/orgs/${mine.org.id}/api-keys/${key.id}`)).status).toBe(403);
    }
    const outsider = await as(other.orgAdmin);
    expect((await outsider.get(`/api/orgs/${mine.org.id}/api-keys`)).status).toBe(404);
    expect((await outsider.delete(`/api/orgs/${mine.org.id}/api-keys/${key.id}`)).status).toBe(404);
    // Through their own organization's path the key is as unknown as a random id.
    const viaOwnOrg = await outsider.delete(`/api/orgs/${other.org.id}/api-keys/${key.id}`);
    const random = await outsider.delete(`/api/orgs/${other.org.id}/api-keys/${crypto.randomUUID()}`);
    expect([viaOwnOrg.status, viaOwnOrg.json.error.code]).toEqual([404, "not_found"]);
    expect([random.status, random.json.error.code]).toEqual([404, "not_found"]);
    expect((await server.client().get(`/api/orgs/${mine.org.id}/api-keys`)).status).toBe(401);
    expect((await admin.delete(`/api/orgs/${mine.org.id}/api-keys/not-a-uuid`)).status).toBe(400);
    // None of it revoked the key.
    expect((await balanceWith(key.key, mine.websitesA[0]!.id)).status).toBe(200);
  });
});

describe("demo sign-ins for the login page", () => {
  it("answers null when no demo data is loaded", async () => {
    const r = await server.client().get("/api/demo");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ demo: null });
  });

  it("lists the demo's accounts once the demo directory exists", async () => {
    const testDb = await createTestDatabase();
    try {
      expect(await findDemoSignIn(testDb.database.db)).toBeNull();
      await seedDirectory(testDb.database.db);
      const demo = await findDemoSignIn(testDb.database.db);
      expect(demo?.password).toBe("demo-password");
      expect(demo?.accounts.map((a) => a.email)).toEqual([
        "org-admin@demo.test",
        "group-admin@demo.test",
        "member@demo.test",
        "partner-admin@demo.test",
        "outsider@demo.test",
      ]);
      expect(demo?.accounts[0]?.description).toBe("Org admin · Demo Org");
    } finally {
      await testDb.drop();
    }
  });
});
