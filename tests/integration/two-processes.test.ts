import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FREE_FAILURES } from "../../src/server/modules/access/sign-in-throttle.js";
import { sha256 } from "../../src/server/modules/access/tokens.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { OPERATOR_KEY, type ServerProcess } from "../support/process.js";
import { spawnPeer, startTestServer, type TestServer } from "../support/server.js";

// Several API processes on one PostgreSQL server: correctness must come from the database.
const onPostgres = process.env.TEST_DB === "postgres";
const ONLY_POSTGRES = "PostgreSQL only: embedded PGlite is one process, so there is no second process to race";

describe("two API processes on one database", () => {
  let server: TestServer;
  let second: ServerProcess;
  beforeEach((ctx) => ctx.skip(!onPostgres, ONLY_POSTGRES));
  beforeAll(async () => {
    if (!onPostgres) return;
    server = await startTestServer();
    second = await spawnPeer(server);
  });
  afterAll(async () => {
    await second?.kill();
    await server?.close();
  });

  it("never overdraws a pool shared by both processes", async () => {
    const f = await createOrgFixture(server.db, { websites: 10 });
    await fundGroupPool(server.deps.database, f.groupA.id, { monthly: 100, oneTime: 150 });
    const key = await createApiKeyFor(server.deps.database, f.org.id);
    const clients = [server.url, second.url].map((u) => new Client(u, { authorization: `Bearer ${key}` }));
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        clients[i % 2]!.post("/api/v1/usage", { websiteId: f.websitesA[i % 10]!.id, credits: 10, idempotencyKey: `e-${i}` }),
      ),
    );
    expect(rs.filter((r) => r.status === 200)).toHaveLength(25);
    expect(rs.filter((r) => r.status === 402)).toHaveLength(25);
    expect((await clients[1]!.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(0);
    await expectLedgerConsistent(server.deps.database);
  });

  it("debits a key once when its duplicates arrive at both processes at the same moment", async () => {
    const f = await createOrgFixture(server.db, { websites: 1 });
    const key = await createApiKeyFor(server.deps.database, f.org.id);
    const clients = [server.url, second.url].map((u) => new Client(u, { authorization: `Bearer ${key}` }));
    const granted = await new Client(server.url, { authorization: `Bearer ${OPERATOR_KEY}` }).post(`/api/v1/websites/${f.websiteB.id}/grants`, { credits: 100, idempotencyKey: "g" });
    expect(granted.status).toBe(201);
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => clients[i % 2]!.post("/api/v1/usage", { websiteId: f.websiteB.id, credits: 7, idempotencyKey: "same" })),
    );
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(new Set(rs.map((r) => r.json.id)).size).toBe(1);
    expect((await clients[1]!.get(`/api/v1/websites/${f.websiteB.id}/balance`)).json.available).toBe(93);
    await expectLedgerConsistent(server.deps.database);
  });

  it("refuses a revoked key in the other process at once, though both had it cached", async () => {
    const f = await createOrgFixture(server.db, { websites: 1 });
    for (let round = 0; round < 5; round++) {
      const key = await createApiKeyFor(server.deps.database, f.org.id);
      const clients = [server.url, second.url].map((u) => new Client(u, { authorization: `Bearer ${key}` }));
      const balance = `/api/v1/websites/${f.websiteB.id}/balance`;
      for (const c of clients) for (let i = 0; i < 3; i++) expect((await c.get(balance)).status).toBe(200);
      // Revoked straight in the database (any process, or an operator): no request in between.
      await server.deps.database.query("update api_keys set revoked_at = now() where key_hash = $1", [sha256(key)]);
      expect((await clients[1]!.get(balance)).status).toBe(401);
      expect((await clients[0]!.get(balance)).status).toBe(401);
    }
  });

  it("refuses debits of a revoked key from the debit's own statement, even before (or without) its notification", async () => {
    const f = await createOrgFixture(server.db, { websites: 1 });
    await fundGroupPool(server.deps.database, f.groupA.id, { oneTime: 100 });
    const site = f.websitesA[0]!.id;
    const key = await createApiKeyFor(server.deps.database, f.org.id);
    const clients = [server.url, second.url].map((u) => new Client(u, { authorization: `Bearer ${key}` }));
    // Cached by both processes, and an idempotency key both can replay.
    for (const c of clients) expect((await c.post("/api/v1/usage", { websiteId: site, credits: 1, idempotencyKey: "before" })).status).toBe(200);
    // Revoked with the api_keys triggers off: no notification reaches either process's cache.
    await server.deps.database.transaction(async (q) => {
      await q("set local session_replication_role = replica");
      await q("update api_keys set revoked_at = now() where key_hash = $1", [sha256(key)]);
    });
    for (const c of clients) {
      expect((await c.post("/api/v1/usage", { websiteId: site, credits: 1, idempotencyKey: "after" })).status).toBe(401);
      expect((await c.post("/api/v1/usage", { websiteId: site, credits: 1, idempotencyKey: "before" })).status).toBe(401);
      const batch = await c.post("/api/v1/usage/batch", { events: [{ websiteId: site, credits: 1, idempotencyKey: "b1" }] });
      expect(batch.status).toBe(401);
      expect(batch.json.error.code).toBe("unauthenticated");
    }
    const { rows } = await server.deps.database.query<{ n: number }>("select count(*)::int as n from usage_events where org_id = $1", [f.org.id]);
    expect(rows[0]!.n).toBe(1);
    await expectLedgerConsistent(server.deps.database);
  });

  it("shares sign-in failures between the processes: guesses spread over both are throttled alike", async () => {
    const f = await createOrgFixture(server.db, { websites: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < FREE_FAILURES + 1; i++) {
      statuses.push((await new Client([server.url, second.url][i % 2]!).post("/api/session", { email: f.member, password: "guess" })).status);
    }
    expect(statuses).toEqual([...Array(FREE_FAILURES).fill(401), 429]);
    expect((await new Client(second.url).post("/api/session", { email: f.member, password: TEST_PASSWORD })).status).toBe(429);
  });
});
