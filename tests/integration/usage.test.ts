import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, type OrgFixture } from "../support/factories.js";
import { Client } from "../support/http.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let database: Database;
let api: Client;
let otherApi: Client;
/** The host platform: website grants need its key. */
let operator: Client;

beforeAll(async () => {
  server = await startTestServer();
  database = server.deps.database;
  operator = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
});
afterAll(() => server?.close());

const key = () => crypto.randomUUID();

async function setup(pool: { monthly?: number; oneTime?: number } = {}, websites = 3) {
  const f = await createOrgFixture(server.db, { websites });
  if (pool.monthly || pool.oneTime) await fundGroupPool(database, f.groupA.id, pool);
  api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(database, f.org.id)}` });
  const other = await createOrgFixture(server.db, { websites: 1 });
  otherApi = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(database, other.org.id)}` });
  return f;
}
const grant = (f: OrgFixture, i: number, credits: number, expiresAt?: string) =>
  operator.post(`/api/v1/websites/${f.websitesA[i]!.id}/grants`, { credits, idempotencyKey: key(), ...(expiresAt ? { expiresAt } : {}) });
const use = (websiteId: string, credits: number, idempotencyKey: string = key()) => api.post("/api/v1/usage", { websiteId, credits, idempotencyKey });

describe("consumption order", () => {
  it("spends the website's own credits, then the group's monthly, then one-time, listing each part", async () => {
    const f = await setup({ monthly: 100, oneTime: 1000 });
    expect((await grant(f, 0, 30)).status).toBe(201);
    const r = await use(f.websitesA[0]!.id, 150);
    expect(r.status).toBe(200);
    expect(r.json.parts).toEqual([
      { source: "website", credits: 30 },
      { source: "group_monthly", credits: 100 },
      { source: "group_one_time", credits: 20 },
    ]);
    expect(r.json.balance).toEqual({ website: 0, groupMonthly: 0, groupOneTime: 980 });
    const b = await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`);
    expect(b.json).toEqual({ website: 0, groupMonthly: 0, groupOneTime: 980, available: 980, poolCapLeft: null });
    await expectLedgerConsistent(database);
  });

  it("spends the earliest-expiring website grant first, up to 1 ms before its end and never at or after it", async () => {
    const f = await setup();
    const site = f.websitesA[0]!.id;
    const start = Date.now();
    const end = start + 86400_000;
    try {
      server.clock.set(start);
      await grant(f, 0, 10); // never expires
      await grant(f, 0, 10, new Date(end + 86400_000).toISOString());
      await grant(f, 0, 10, new Date(end).toISOString());
      expect((await use(site, 5)).json.parts).toEqual([{ source: "website", credits: 5 }]);

      server.clock.set(end - 1); // the soonest grant is still spendable: 5 left of it
      expect((await api.get(`/api/v1/websites/${site}/balance`)).json.website).toBe(25);
      expect((await use(site, 1)).json.balance.website).toBe(24);

      server.clock.set(end); // at its end it is expired: its 4 are not spent, not counted
      expect((await api.get(`/api/v1/websites/${site}/balance`)).json.website).toBe(20);
      expect((await use(site, 12)).json.balance.website).toBe(8);

      server.clock.set(end + 1);
      expect((await api.get(`/api/v1/websites/${site}/balance`)).json.website).toBe(8);
    } finally {
      server.clock.reset();
    }
    const { rows } = await database.query<{ kind: string; amount: number }>(
      `select l.kind, l.amount from ledger_entries l join credit_grants g on g.id = l.grant_id where g.website_id = $1 and l.kind = 'expiry'`,
      [site],
    );
    expect(rows.map((r) => Number(r.amount))).toEqual([-4]);
    await expectLedgerConsistent(database);
  });

  it("answers 402 and debits nothing when the website and its group cannot cover the event", async () => {
    const f = await setup({ oneTime: 50 });
    await grant(f, 0, 20);
    const r = await use(f.websitesA[0]!.id, 71);
    expect(r.status).toBe(402);
    expect(r.json.error.code).toBe("insufficient_credits");
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(70);
    expect((await use(f.websitesA[0]!.id, 70)).status).toBe(200);
    await expectLedgerConsistent(database);
  });

  it("gives no group pool to a website without a group or a group without billing", async () => {
    const f = await setup();
    await fundGroupPool(database, f.groupA.id, { oneTime: 10 });
    expect((await use(f.loneWebsite.id, 1)).status).toBe(402);
    expect((await use(f.websiteB.id, 1)).status).toBe(402);
  });
});

describe("idempotency", () => {
  it("returns the first answer for the same key and body, and 409 for another body", async () => {
    const f = await setup({ oneTime: 100 });
    const k = key();
    const a = await use(f.websitesA[0]!.id, 10, k);
    const b = await use(f.websitesA[0]!.id, 10, k);
    expect(b.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect((await use(f.websitesA[0]!.id, 11, k)).status).toBe(409);
    expect((await use(f.websitesA[1]!.id, 10, k)).status).toBe(409);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(90);
  });

  it("reads a website id in upper case as the same website: debit, replay, batch, preview, balance", async () => {
    const f = await setup({ oneTime: 100 });
    const site = f.websitesA[0]!.id;
    const upper = site.toUpperCase();
    const k = key();
    const first = await use(upper, 10, k);
    expect([first.status, first.json.websiteId, first.json.balance]).toEqual([200, site, { website: 0, groupMonthly: 0, groupOneTime: 90 }]);
    // The same event, written either way, is one event: a replay, not a conflict nor a second debit.
    expect((await use(site, 10, k)).json).toEqual(first.json);
    const batch = await api.post("/api/v1/usage/batch", { events: [{ websiteId: upper, credits: 10, idempotencyKey: k }, { websiteId: upper, credits: 5, idempotencyKey: key() }] });
    expect(batch.json.results.map((x: { status: number }) => x.status)).toEqual([200, 200]);
    expect(batch.json.results[0].result).toEqual(first.json);
    expect((await api.post("/api/v1/usage/preview", { websiteId: upper, credits: 85 })).json).toMatchObject({ covered: true, parts: [{ source: "group_one_time", credits: 85 }] });
    expect((await api.get(`/api/v1/websites/${upper}/balance`)).json.available).toBe(85);
    await expectLedgerConsistent(database);
  });

  it("replays an answer split over three sources byte for byte, parts and balance as first given", async () => {
    const f = await setup({ monthly: 20, oneTime: 100 });
    expect((await grant(f, 0, 5)).status).toBe(201);
    const k = key();
    const a = await use(f.websitesA[0]!.id, 30, k);
    expect(a.status).toBe(200);
    expect(a.json.parts).toEqual([
      { source: "website", credits: 5 },
      { source: "group_monthly", credits: 20 },
      { source: "group_one_time", credits: 5 },
    ]);
    await use(f.websitesA[1]!.id, 7); // the balance moves on; the replay keeps the first answer's
    const b = await use(f.websitesA[0]!.id, 30, k);
    expect(b.status).toBe(200);
    expect(b.text).toBe(a.text);
    expect(b.json.balance).toEqual({ website: 0, groupMonthly: 0, groupOneTime: 95 });
  });

  it("replays an event recorded before answers were kept as numbers (its whole answer as JSON)", async () => {
    const f = await setup({ oneTime: 100 });
    const k = key();
    const first = await use(f.websitesA[0]!.id, 4, k);
    expect(first.status).toBe(200);
    // The row as migration 0015 found those written before it: the whole answer in `response`.
    await database.query("update usage_events set response = $2::jsonb, answer = null where id = $1", [first.json.id, first.text]);
    const again = await use(f.websitesA[0]!.id, 4, k);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await use(f.websitesA[0]!.id, 5, k)).status).toBe(409);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(96);
    await expectLedgerConsistent(database);
  });

  it("debits once when duplicates arrive at the same moment", async () => {
    const f = await setup({ oneTime: 1000 });
    const k = key();
    const rs = await Promise.all(Array.from({ length: 20 }, () => use(f.websitesA[0]!.id, 7, k)));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(new Set(rs.map((r) => r.json.id)).size).toBe(1);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(993);
    await expectLedgerConsistent(database);
  });

  it("lets a refused key succeed later, once credits were added", async () => {
    const f = await setup();
    const k = key();
    expect((await use(f.websitesA[0]!.id, 5, k)).status).toBe(402);
    await grant(f, 0, 5);
    expect((await use(f.websitesA[0]!.id, 5, k)).status).toBe(200);
  });

  it("makes website grants idempotent per key", async () => {
    const f = await setup();
    const body = { credits: 40, idempotencyKey: key() };
    const a = await operator.post(`/api/v1/websites/${f.websitesA[0]!.id}/grants`, body);
    const b = await operator.post(`/api/v1/websites/${f.websitesA[0]!.id}/grants`, body);
    expect(b.json).toEqual(a.json);
    expect((await operator.post(`/api/v1/websites/${f.websitesA[0]!.id}/grants`, { ...body, credits: 41 })).status).toBe(409);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.website).toBe(40);
  });
});

describe("concurrency", () => {
  it("lets exactly as many of 50 concurrent events succeed as the pool covers", async () => {
    const f = await setup({ monthly: 100, oneTime: 250 }, 10);
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => use(f.websitesA[i % 10]!.id, 10)));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(35);
    expect(rs.filter((r) => r.status === 402)).toHaveLength(15);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(0);
    await expectLedgerConsistent(database);
  });
});

describe("batch", () => {
  it("answers each event on its own, in order", async () => {
    const f = await setup({ oneTime: 25 });
    const dup = key();
    const r = await api.post("/api/v1/usage/batch", {
      events: [
        { websiteId: f.websitesA[0]!.id, credits: 10, idempotencyKey: dup },
        { websiteId: f.websitesA[1]!.id, credits: 10, idempotencyKey: key() },
        { websiteId: f.websitesA[0]!.id, credits: 10, idempotencyKey: dup },
        { websiteId: f.websitesA[2]!.id, credits: 10, idempotencyKey: key() },
        { websiteId: crypto.randomUUID(), credits: 1, idempotencyKey: key() },
        { websiteId: f.websitesA[0]!.id, credits: 5, idempotencyKey: key() },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.results.map((x: { status: number }) => x.status)).toEqual([200, 200, 200, 402, 404, 200]);
    expect(r.json.results[2].result).toEqual(r.json.results[0].result);
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(0);
    await expectLedgerConsistent(database);
  });

  it("refuses more than 1,000 events", async () => {
    const f = await setup();
    const events = Array.from({ length: 1001 }, () => ({ websiteId: f.websitesA[0]!.id, credits: 1, idempotencyKey: key() }));
    expect((await api.post("/api/v1/usage/batch", { events })).status).toBe(400);
  });
});

describe("access and validation", () => {
  it("hides another organization's website and needs a valid key", async () => {
    const f = await setup({ oneTime: 10 });
    expect((await otherApi.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 1, idempotencyKey: key() })).status).toBe(404);
    expect((await otherApi.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).status).toBe(404);
    // Website grants come from the platform: an organization's key is refused, its own website or not.
    expect((await otherApi.post(`/api/v1/websites/${f.websitesA[0]!.id}/grants`, { credits: 1, idempotencyKey: key() })).status).toBe(403);
    expect((await api.post(`/api/v1/websites/${f.websitesA[0]!.id}/grants`, { credits: 1, idempotencyKey: key() })).status).toBe(403);
    expect((await operator.post(`/api/v1/websites/${crypto.randomUUID()}/grants`, { credits: 1, idempotencyKey: key() })).status).toBe(404);
    const anon = new Client(server.url);
    expect((await anon.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 1, idempotencyKey: key() })).status).toBe(401);
    const bad = new Client(server.url, { authorization: "Bearer gbk_nope" });
    expect((await bad.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).status).toBe(401);
  });

  it.each([
    ["zero credits", { credits: 0 }],
    ["negative credits", { credits: -5 }],
    ["fractional credits", { credits: 1.5 }],
    ["credits as a string", { credits: "3" }],
    ["credits above 10^9", { credits: 1_000_000_001 }],
    ["an empty key", { idempotencyKey: "" }],
    ["a 256-character key", { idempotencyKey: "k".repeat(256) }],
    ["an unknown field", { extra: true }],
    ["a malformed website id", { websiteId: "123" }],
  ])("answers 400 for %s and changes nothing", async (_n, patch) => {
    const f = await setup({ oneTime: 10 });
    const r = await api.post("/api/v1/usage", { websiteId: f.websitesA[0]!.id, credits: 1, idempotencyKey: key(), ...patch });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(10);
  });

  it("says each number's problem once, in plain words, alone and in a batch", async () => {
    const f = await setup({ oneTime: 10 });
    const websiteId = f.websitesA[0]!.id;
    const cases: [unknown, string][] = [
      [1e20, "Invalid request. credits: Too big: expected number to be <=1000000000"],
      [1.5, "Invalid request. credits: Invalid input: expected a whole number"],
      [0, "Invalid request. credits: Too small: expected number to be >=1"],
    ];
    for (const [credits, message] of cases) {
      const one = await api.post("/api/v1/usage", { websiteId, credits, idempotencyKey: key() });
      expect([one.status, one.json.error]).toEqual([400, { code: "invalid_request", message }]);
      const batch = await api.post("/api/v1/usage/batch", { events: [{ websiteId, credits, idempotencyKey: key() }] });
      expect(batch.json.results[0]).toEqual({ status: 400, error: { code: "invalid_request", message } });
    }
    expect((await api.get(`/api/v1/websites/${websiteId}/balance`)).json.available).toBe(10);
  });

  it("says so when the body is not sent as JSON, and debits nothing", async () => {
    const f = await setup({ oneTime: 10 });
    const body = JSON.stringify({ websiteId: f.websitesA[0]!.id, credits: 1, idempotencyKey: key() });
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const r = await api.request("POST", "/api/v1/usage", body, { "content-type": type });
      expect([r.status, r.json.error]).toEqual([400, { code: "invalid_request", message: "Content-Type must be application/json." }]);
    }
    expect((await api.get(`/api/v1/websites/${f.websitesA[0]!.id}/balance`)).json.available).toBe(10);
  });

  it("accepts the largest credits and a 255-character key", async () => {
    const f = await setup();
    expect((await grant(f, 0, 1_000_000_000)).status).toBe(201);
    expect((await use(f.websitesA[0]!.id, 1_000_000_000, "k".repeat(255))).status).toBe(200);
  });
});
