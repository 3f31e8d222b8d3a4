import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRequest, hostileRequest, sendAll, type HostileTarget } from "../chaos/lib/hostile.js";
import { databaseSnapshot, snapshotDiff } from "../chaos/lib/snapshot.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The bounded run: 500 per database kind (pglite and postgres projects), 1,000 in all; `npm run chaos` sends 10,000.
const REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 500);
const SEED = Number(process.env.HOSTILE_SEED ?? 20_240_607);

let server: TestServer;
let target: HostileTarget;

beforeAll(async () => {
  server = await startTestServer();
  const f = await createOrgFixture(server.db);
  await fundGroupPool(server.deps.database, f.groupA.id, { monthly: 500, oneTime: 500 });
  const { rows } = await server.deps.database.query<{ id: string }>(
    `insert into purchases (group_id, type, quantity, credits, amount, currency, provider, status, idempotency_key)
     values ($1, 'one_time', 1, 1000, 1000, 'usd', 'stripe', 'completed', 'seed') returning id`,
    [f.groupA.id],
  );
  const admin = server.client();
  const login = await admin.request("POST", "/api/session", { email: f.orgAdmin, password: TEST_PASSWORD });
  target = {
    orgId: f.org.id,
    groupId: f.groupA.id,
    websiteId: f.websitesA[0]!.id,
    purchaseId: rows[0]!.id,
    sessionCookie: login.headers.get("set-cookie")!.split(";")[0]!,
    apiKey: await createApiKeyFor(server.deps.database, f.org.id),
  };
});
afterAll(() => server?.close());

describe("hostile input", () => {
  it(`answers ${REQUESTS} generated malformed requests across every endpoint without a 5xx, a success, or any change to the data`, async () => {
    const requests = fc.sample(hostileRequest(target), { numRuns: REQUESTS, seed: SEED });
    const before = await databaseSnapshot(server.deps.database);
    const outcomes = await sendAll(server.url, requests, 8);
    const after = await databaseSnapshot(server.deps.database);

    const failures = outcomes.filter((o) => o.status === "network-error" || o.status >= 500 || o.status < 400);
    expect(failures.map((o) => `${o.status} ${o.body.slice(0, 120)} <- ${describeRequest(o.request)}`)).toEqual([]);
    expect(snapshotDiff(before, after)).toEqual([]);
    // Every endpoint was exercised.
    expect(new Set(requests.map((r) => r.endpoint)).size).toBe(18);
    await expectLedgerConsistent(server.deps.database);
  });

  it("rejects NUL characters with 400 instead of failing in the database, and a NUL event does not spoil its batch neighbours", async () => {
    const api = server.client({ authorization: `Bearer ${target.apiKey}` });
    const nul = await api.post("/api/v1/usage", { websiteId: target.websiteId, credits: 1, idempotencyKey: "a\u0000b" });
    expect(nul.status).toBe(400);
    expect(nul.json.error.code).toBe("invalid_request");
    // Concurrent neighbours share the usage processor's micro-batch: they still succeed.
    const rs = await Promise.all([
      api.post("/api/v1/usage", { websiteId: target.websiteId, credits: 1, idempotencyKey: "\u0000" }),
      ...[1, 2, 3].map((i) => api.post("/api/v1/usage", { websiteId: target.websiteId, credits: 1, idempotencyKey: `neighbour-${i}` })),
    ]);
    expect(rs.map((r) => r.status)).toEqual([400, 200, 200, 200]);
    expect((await server.client().post("/api/session", { email: "x\u0000@test.example", password: "p" })).status).toBe(400);
    expect((await api.post(`/api/v1/websites/${target.websiteId}/grants`, { credits: 1, idempotencyKey: "g\u0000" })).status).toBe(400);
    await expectLedgerConsistent(server.deps.database);
  });
});
