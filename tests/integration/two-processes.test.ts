import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApiKeyFor, createOrgFixture, fundGroupPool } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { spawnServer, type ServerProcess } from "../support/process.js";
import { startTestServer, type TestServer } from "../support/server.js";

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
    second = await spawnServer({
      DATABASE_URL: server.databaseUrl!,
      STRIPE_API_BASE: server.stripe.url,
      PARTNER_API_BASE: server.partner.url,
      LOG_LEVEL: "warn",
    });
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
    await clients[0]!.post(`/api/v1/websites/${f.websiteB.id}/grants`, { credits: 100, idempotencyKey: "g" });
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => clients[i % 2]!.post("/api/v1/usage", { websiteId: f.websiteB.id, credits: 7, idempotencyKey: "same" })),
    );
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(new Set(rs.map((r) => r.json.id)).size).toBe(1);
    expect((await clients[1]!.get(`/api/v1/websites/${f.websiteB.id}/balance`)).json.available).toBe(93);
    await expectLedgerConsistent(server.deps.database);
  });
});
