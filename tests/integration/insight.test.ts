import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, type OrgFixture } from "../support/factories.js";
import { Client } from "../support/http.js";
import { csvTextSql } from "../../src/server/modules/insight/export-ledger-csv.js";
import { debitUsageBatch } from "../../src/server/modules/ledger/index.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let database: Database;

beforeAll(async () => {
  server = await startTestServer();
  database = server.deps.database;
});
afterAll(() => server?.close());

const DAY = 86_400_000;
const key = () => crypto.randomUUID();
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const startOfToday = () => Math.floor(Date.now() / DAY) * DAY;
const thisMonth = () => new Date().toISOString().slice(0, 7);

async function setup(pool: { monthly?: number; oneTime?: number; periodEnd?: Date } = {}, websites = 3) {
  const f = await createOrgFixture(server.db, { websites });
  if (pool.monthly || pool.oneTime) await fundGroupPool(database, f.groupA.id, pool);
  const api = new Client(server.url, { authorization: `Bearer ${await createApiKeyFor(database, f.org.id)}` });
  const admin = await server.client().login(f.orgAdmin);
  // Website grants come from the host platform (operator key).
  const operator = server.client({ authorization: `Bearer ${OPERATOR_KEY}` });
  return { f, api, admin, operator };
}
type Setup = Awaited<ReturnType<typeof setup>>;

const use = (s: Setup, websiteId: string, credits: number) => s.api.post("/api/v1/usage", { websiteId, credits, idempotencyKey: key() });

/**
 * A usage event on an earlier day: POST /api/v1/usage with the server's clock set to `at`, so the
 * debit path writes the event, its ledger entries and the rollup at that time. Expects the parts
 * (sources) the debit took, so a test's history is what it says.
 */
async function debitAt(at: Date, s: Setup, websiteId: string, parts: { source: "website" | "group_monthly" | "group_one_time"; credits: number }[]) {
  server.clock.set(at);
  try {
    const r = await use(s, websiteId, parts.reduce((a, p) => a + p.credits, 0));
    expect(r.status).toBe(200);
    expect(r.json.parts).toEqual(parts);
  } finally {
    server.clock.reset();
  }
}

/** The same figures computed straight from the ledger, the way the rollup must add up. */
async function ledgerSums(groupId: string, from: string, to: string) {
  const { rows } = await database.query<{ day: string; website_id: string; kind: string; credits: number }>(
    `select to_char((l.created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, coalesce(g.website_id, e.website_id) as website_id, g.kind,
            sum(-l.amount)::bigint as credits
       from ledger_entries l join credit_grants g on g.id = l.grant_id join usage_events e on e.id = l.usage_event_id
       left join websites w on w.id = g.website_id
      where l.kind = 'debit' and coalesce(g.group_id, w.group_id) = $1 and (l.created_at at time zone 'UTC')::date between $2 and $3
      group by 1, 2, 3`,
    [groupId, from, to],
  );
  const field = { website: "website", monthly: "groupMonthly", one_time: "groupOneTime" } as const;
  const days = new Map<string, Record<string, number>>();
  const sites = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const f = field[r.kind as keyof typeof field];
    const d = days.get(r.day) ?? { website: 0, groupMonthly: 0, groupOneTime: 0 };
    d[f]! += Number(r.credits);
    days.set(r.day, d);
    const w = sites.get(r.website_id) ?? { website: 0, groupMonthly: 0, groupOneTime: 0 };
    w[f]! += Number(r.credits);
    sites.set(r.website_id, w);
  }
  return { days, sites };
}

describe("GET /api/groups/{groupId}/billing/usage", () => {
  it("adds up to the ledger, per day and per website, after a mixed run of own, monthly, one-time, expired and refused events", async () => {
    const s = await setup({ monthly: 400, oneTime: 300 }, 5);
    const [a, b, c] = s.f.websitesA as [OrgFixture["websitesA"][0], OrgFixture["websitesA"][0], OrgFixture["websitesA"][0]];
    // Earlier days of the month (when there are any) hold usage too; yesterday of another month is left out.
    const today = startOfToday();
    const earlier = new Date(today).getUTCDate() > 1 ? today - DAY : null;
    if (earlier) {
      await debitAt(new Date(earlier + 3600_000), s, a.id, [{ source: "group_monthly", credits: 12 }]);
      await debitAt(new Date(earlier + 7200_000), s, c.id, [{ source: "group_monthly", credits: 11 }]);
    }
    // A monthly grant of an earlier period, still holding credits: the next debit expires it (an expiry, not usage).
    await fundGroupPool(database, s.f.groupA.id, { monthly: 999, periodEnd: new Date(Date.now() - 1000) });
    expect((await s.operator.post(`/api/v1/websites/${a.id}/grants`, { credits: 50, idempotencyKey: key() })).status).toBe(201);
    expect((await s.operator.post(`/api/v1/websites/${b.id}/grants`, { credits: 20, idempotencyKey: key() })).status).toBe(201);
    // Concurrent events of every kind, some refused.
    const results = await Promise.all([
      use(s, a.id, 30), // own
      use(s, a.id, 40), // own 15 (or so) then monthly
      use(s, b.id, 25), // own 20 + monthly 5
      use(s, c.id, 120),
      use(s, c.id, 5000), // refused
      use(s, s.f.websitesA[3]!.id, 1), // the fourth website
      use(s, s.f.websiteB.id, 3), // another group: no credits there, refused
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 402, 200, 402]);
    // Drain the monthly pool into one-time credits.
    expect((await use(s, c.id, 300)).status).toBe(200);
    await expectLedgerConsistent(database);

    const r = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage`);
    expect(r.status).toBe(200);
    const month = thisMonth();
    expect(r.json.month).toBe(month);
    // Every day of the month up to today, in order.
    const dayCount = new Date(today).getUTCDate();
    expect(r.json.days.map((d: { date: string }) => d.date)).toEqual(Array.from({ length: dayCount }, (_, i) => `${month}-${String(i + 1).padStart(2, "0")}`));

    const expected = await ledgerSums(s.f.groupA.id, `${month}-01`, isoDay(today));
    for (const d of r.json.days) {
      expect({ date: d.date, ...(expected.days.get(d.date) ?? { website: 0, groupMonthly: 0, groupOneTime: 0 }) }).toEqual(d);
    }
    const totals = r.json.days.reduce(
      (t: number[], d: { website: number; groupMonthly: number; groupOneTime: number }) => [t[0]! + d.website, t[1]! + d.groupMonthly, t[2]! + d.groupOneTime],
      [0, 0, 0],
    );
    // Own credits: all 70 granted were spent; the monthly 400 were drained; the rest came from one-time credits.
    const debited = 30 + 40 + 25 + 120 + 1 + 300 + (earlier ? 12 + 11 : 0);
    expect(totals).toEqual([70, 400, debited - 70 - 400]);

    // Every website of the group, zeros included (the fifth used nothing), biggest pool users first.
    expect(r.json.websites).toHaveLength(5);
    expect(r.json.websites[4]).toMatchObject({ websiteId: s.f.websitesA[4]!.id, website: 0, groupMonthly: 0, groupOneTime: 0 });
    for (const w of r.json.websites) {
      const e = expected.sites.get(w.websiteId) ?? { website: 0, groupMonthly: 0, groupOneTime: 0 };
      expect(w).toMatchObject({ ...e, poolCap: null });
    }
    const pool = r.json.websites.map((w: { groupMonthly: number; groupOneTime: number }) => w.groupMonthly + w.groupOneTime);
    expect(pool).toEqual([...pool].sort((x: number, y: number) => y - x));
    expect(r.json.websites[0].websiteId).toBe(c.id);
    expect(r.json.websites.map((w: { name: string }) => w.name)).toContain(s.f.websitesA[3]!.name);
  });

  it("forecasts from the pool draws of the last 7 complete UTC days only", async () => {
    const now = startOfToday() + 15 * 3600_000;
    server.clock.set(now);
    const periodEnd = new Date(now + 10 * DAY);
    const s = await setup({ oneTime: 50_000 });
    const site = s.f.websitesA[0]!.id;
    const today = startOfToday();
    // 100 pool credits on each of the 7 days before today, plus draws that must not count: 8 days ago and today.
    for (let d = 1; d <= 7; d++) await debitAt(new Date(today - d * DAY + 3600_000), s, site, [{ source: "group_one_time", credits: 100 }]);
    await debitAt(new Date(today - 8 * DAY + 3600_000), s, site, [{ source: "group_one_time", credits: 9_000 }]);
    // The monthly credits come after those draws (the debit takes monthly credits first).
    await fundGroupPool(database, s.f.groupA.id, { monthly: 20_000, periodEnd });
    await debitAt(new Date(now - 3600_000), s, site, [{ source: "group_monthly", credits: 5_000 }]);
    // Own credits are not pool draws.
    await s.operator.post(`/api/v1/websites/${site}/grants`, { credits: 10_000, idempotencyKey: key() });
    await debitAt(new Date(today - 2 * DAY + 3600_000), s, site, [{ source: "website", credits: 10_000 }]);
    server.clock.set(now);

    const r = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage`);
    server.clock.reset();
    expect(r.status).toBe(200);
    // 100 a day: 15,000 monthly left for 10 days -> 14,000 unused; the pool (15,000 + 40,300, no renewal) lasts 553 days: past the horizon.
    expect(r.json.forecast).toEqual({ monthlyUnusedAtPeriodEnd: 14_000, poolEmptyOn: null });
  });

  it("names the day a one-time pool runs out at the trailing rate", async () => {
    const s = await setup({ oneTime: 5_000 });
    const site = s.f.websitesA[0]!.id;
    const today = startOfToday();
    for (let d = 1; d <= 7; d++) await debitAt(new Date(today - d * DAY + 60_000), s, site, [{ source: "group_one_time", credits: 300 }]);
    // 2,900 left at 300 a day from 06:00: 9 2/3 days, until 22:00 nine days later.
    server.clock.set(today + 6 * 3600_000);
    const r = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage`);
    server.clock.reset();
    expect(r.json.forecast.poolEmptyOn).toBe(isoDay(today + 9 * DAY));
    expect(r.json.forecast.monthlyUnusedAtPeriodEnd).toBe(0);
  });

  it("answers a past month with all its days, and a future month with none", async () => {
    const s = await setup({ oneTime: 100 });
    const r = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage?month=2024-02`);
    expect(r.status).toBe(200);
    expect(r.json.days).toHaveLength(29);
    expect(r.json.days.every((d: { website: number; groupMonthly: number; groupOneTime: number }) => d.website + d.groupMonthly + d.groupOneTime === 0)).toBe(true);
    expect(r.json.websites).toHaveLength(3);
    const future = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage?month=2999-01`);
    expect(future.json.days).toEqual([]);
  });

  it("is for the group's admins only, and refuses a malformed month", async () => {
    const s = await setup();
    const path = `/api/groups/${s.f.groupA.id}/billing/usage`;
    // Year 0 is a month the database cannot answer for (a 500 before); the last year is 9998, as for dates.
    for (const bad of ["2026-13", "2026-1", "nope", "2026-01-01", "0000-01", "9999-12"]) {
      const r = await s.admin.get(`${path}?month=${bad}`);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
    }
    expect((await (await server.client().login(s.f.member)).get(path)).status).toBe(403);
    expect((await (await server.client().login(s.f.groupAdmin)).get(`/api/groups/${s.f.groupB.id}/billing/usage`)).status).toBe(403);
    const other = await setup();
    expect((await other.admin.get(path)).status).toBe(404);
    expect((await server.client().get(path)).status).toBe(401);
  });
});

describe("GET /api/groups/{groupId}/billing/ledger.csv", () => {
  it("writes any text field as RFC 4180 quoting and OWASP's formula guard would, in the database's SQL", async () => {
    // The reference: an apostrophe before a leading =, +, -, @, tab or CR; quotes around a field holding a quote, comma or line break, its quotes doubled.
    const expected = (text: string | null) => {
      if (text === null) return "";
      const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
      return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
    };
    const char = fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", '"', ",", "'", " ", "a", "Z", "0", "é", "\\", "[", "^", "€");
    // PostgreSQL's text holds no NUL.
    const text = fc.oneof(fc.string({ unit: char, maxLength: 8 }), fc.string({ maxLength: 12 }).map((t) => t.replaceAll("\u0000", "")), fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 40 }), async (texts) => {
        const { rows } = await database.query<{ field: string }>(
          `select ${csvTextSql("t")} as field from unnest($1::text[]) with ordinality as x(t, n) order by n`,
          [texts],
        );
        expect(rows.map((r) => r.field)).toEqual(texts.map(expected));
      }),
      { numRuns: 200 },
    );
  });

  const COLUMNS = "time,entry_id,kind,source,website_id,website_name,usage_event_id,idempotency_key,credits,grant_id";

  it("streams one row per ledger entry of the group's grants and its websites' own grants, debits negative", async () => {
    const s = await setup({ monthly: 100, oneTime: 1_000 });
    const [a, b] = s.f.websitesA as [OrgFixture["websitesA"][0], OrgFixture["websitesA"][0]];
    await database.query("update websites set name = $2 where id = $1", [a.id, 'Shop, "North"']);
    await s.operator.post(`/api/v1/websites/${a.id}/grants`, { credits: 10, idempotencyKey: key() });
    const idem = "=HYPERLINK(1)";
    expect((await s.api.post("/api/v1/usage", { websiteId: a.id, credits: 150, idempotencyKey: idem })).status).toBe(200);
    expect((await use(s, b.id, 5)).status).toBe(200);
    expect((await use(s, b.id, 5_000)).status).toBe(402);
    // Another group's activity is not in it.
    await fundGroupPool(database, s.f.groupB.id, { oneTime: 10 });
    expect((await use(s, s.f.websiteB.id, 1)).status).toBe(200);

    const r = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/ledger.csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(r.headers.get("content-disposition")).toMatch(/^attachment; filename="ledger-.*\.csv"$/);
    // A streamed answer still carries what every answer carries.
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("content-security-policy")).toContain("default-src 'self'");
    const lines = r.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(COLUMNS);
    const { rows } = await database.query<{ n: number }>(
      `select count(*)::int as n from ledger_entries l join credit_grants g on g.id = l.grant_id
        where g.group_id = $1 or g.website_id in (select id from websites where group_id = $1)`,
      [s.f.groupA.id],
    );
    // grants: monthly, one-time, a's own; debits: a 10 own + 100 monthly + 40 one-time, b 5 one-time.
    expect(rows[0]!.n).toBe(7);
    expect(lines).toHaveLength(1 + 7);
    const debitsOfA = lines.filter((l) => l.includes(`,debit,`) && l.includes(a.id));
    expect(debitsOfA.map((l) => l.split(",")[3])).toEqual(["website", "group_monthly", "group_one_time"]);
    expect(debitsOfA[0]).toContain(`,${a.id},"Shop, ""North""",`);
    expect(debitsOfA[0]).toContain(`,'=HYPERLINK(1),-10,`);
    const bLine = lines.find((l) => l.includes(b.id))!;
    const cells = bLine.split(",");
    expect(cells).toHaveLength(10);
    expect(cells[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(cells.slice(2, 6)).toEqual(["debit", "group_one_time", b.id, b.name]);
    expect(cells[8]).toBe("-5");
    const grantLine = lines.find((l) => l.split(",")[2] === "grant" && l.split(",")[3] === "group_monthly")!;
    expect(grantLine.split(",").slice(4, 9)).toEqual(["", "", "", "", "100"]);
    // Oldest first.
    const ids = lines.slice(1).map((l) => Number(l.split(",")[1]));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it("keeps to the from/to dates (inclusive, UTC) and refuses bad dates", async () => {
    const s = await setup({ oneTime: 1_000 });
    const site = s.f.websitesA[0]!.id;
    const today = startOfToday();
    await debitAt(new Date(today - 3 * DAY), s, site, [{ source: "group_one_time", credits: 1 }]); // midnight, 3 days ago
    await debitAt(new Date(today - 2 * DAY - 1), s, site, [{ source: "group_one_time", credits: 2 }]); // last ms of that day
    await debitAt(new Date(today - DAY), s, site, [{ source: "group_one_time", credits: 3 }]);
    const path = `/api/groups/${s.f.groupA.id}/billing/ledger.csv`;
    const r = await s.admin.get(`${path}?from=${isoDay(today - 3 * DAY)}&to=${isoDay(today - 3 * DAY)}`);
    expect(r.status).toBe(200);
    const rows = r.text.trimEnd().split("\r\n").slice(1);
    expect(rows.map((l) => l.split(",")[8])).toEqual(["-1", "-2"]);
    for (const bad of ["from=2026-02-30", "to=20260101", "from=2026-03-02&to=2026-03-01", "since=2026-01-01", "to=9999-12-31", "from=0001-01-01"]) {
      const x = await s.admin.get(`${path}?${bad}`);
      expect(x.status).toBe(400);
      expect(x.json.error.code).toBe("invalid_request");
    }
    expect((await (await server.client().login(s.f.member)).get(path)).status).toBe(403);
  });

  it("exports 25,000 entries over several read windows, all in order", async () => {
    const s = await setup({ oneTime: 100_000 });
    const site = s.f.websitesA[0]!.id;
    // 25,000 events in one debit statement (the ledger's debit path, as one batch).
    const events = Array.from({ length: 25_000 }, (_, i) => ({ orgId: s.f.org.id, websiteId: site, credits: 1, idempotencyKey: `bulk-${i}` }));
    const outcomes = await database.transaction((q) => debitUsageBatch(q, events, new Date()));
    expect(outcomes.every((o) => o.status === 200)).toBe(true);
    // The debit above can leave the client's keep-alive socket idle past the server's 5 s
    // keep-alive timeout (PGlite is slow at bulk writes); a GET on a socket closed meanwhile is retried, as browsers do.
    const path = `/api/groups/${s.f.groupA.id}/billing/ledger.csv`;
    const r = await s.admin.get(path).catch(() => s.admin.get(path));
    const lines = r.text.trimEnd().split("\r\n");
    expect(lines).toHaveLength(1 + 1 + 25_000);
    const ids = lines.slice(1).map((l) => Number(l.split(",")[1]));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    // The debit statement added its 25,000 entries to the rollup as one row.
    const u = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage`);
    expect(u.json.websites[0]).toMatchObject({ websiteId: site, groupOneTime: 25_000 });
  });
});

describe("POST /api/v1/usage/preview", () => {
  it("answers exactly what the debit that follows does, and debits nothing", async () => {
    const s = await setup({ monthly: 100, oneTime: 1_000 });
    const site = s.f.websitesA[0]!.id;
    await s.operator.post(`/api/v1/websites/${site}/grants`, { credits: 30, idempotencyKey: key() });
    await s.operator.post(`/api/v1/websites/${site}/grants`, { credits: 5, idempotencyKey: key(), expiresAt: new Date(Date.now() + DAY).toISOString() });
    for (const credits of [3, 40, 150, 900, 5_000, 1]) {
      const before = (await s.api.get(`/api/v1/websites/${site}/balance`)).json;
      const p = await s.api.post("/api/v1/usage/preview", { websiteId: site, credits });
      expect(p.status).toBe(200);
      expect((await s.api.get(`/api/v1/websites/${site}/balance`)).json).toEqual(before);
      const d = await use(s, site, credits);
      if (p.json.covered) {
        expect(d.status).toBe(200);
        expect(p.json).toEqual({ covered: true, parts: d.json.parts, balance: d.json.balance });
      } else {
        expect(d.status).toBe(402);
        expect(p.json).toEqual({ covered: false, parts: [], balance: { website: before.website, groupMonthly: before.groupMonthly, groupOneTime: before.groupOneTime } });
      }
    }
    // The amounts above went through every source and one refusal.
    const { rows } = await database.query<{ n: number }>("select count(*)::int as n from usage_events where website_id = $1", [site]);
    expect(rows[0]!.n).toBe(5);
    await expectLedgerConsistent(database);
  });

  it("follows the website's pool cap as the debit does: pool_cap_reached is not covered", async () => {
    const s = await setup({ oneTime: 1_000 });
    const site = s.f.websitesA[0]!.id;
    await s.operator.post(`/api/v1/websites/${site}/grants`, { credits: 10, idempotencyKey: key() });
    expect((await s.admin.put(`/api/groups/${s.f.groupA.id}/websites/${site}/pool-cap`, { monthlyCredits: 50 })).status).toBe(200);
    // The balance says what the cap leaves: 10 own and 50 of the pool's 1,000, not 1,010.
    const balance = () => s.api.get(`/api/v1/websites/${site}/balance`).then((r) => r.json);
    expect(await balance()).toEqual({ website: 10, groupMonthly: 0, groupOneTime: 1_000, available: 60, poolCapLeft: 50 });
    for (const credits of [40, 30, 20, 5]) {
      const p = await s.api.post("/api/v1/usage/preview", { websiteId: site, credits });
      const d = await use(s, site, credits);
      if (p.json.covered) expect(p.json).toEqual({ covered: true, parts: d.json.parts, balance: d.json.balance });
      else {
        expect(d.status).toBe(402);
        expect(d.json.error.code).toBe("pool_cap_reached");
        expect(p.json.parts).toEqual([]);
      }
    }
    // 40 (10 own + 30 pool), 30 refused (cap: 20 left), 20 (pool), 5 refused (cap spent).
    expect(await balance()).toEqual({ website: 0, groupMonthly: 0, groupOneTime: 950, available: 0, poolCapLeft: 0 });
    const u = await s.admin.get(`/api/groups/${s.f.groupA.id}/billing/usage`);
    expect(u.json.websites[0]).toMatchObject({ websiteId: site, website: 10, groupOneTime: 50, poolCap: 50 });
    expect(u.json.websites.slice(1).every((w: { poolCap: number | null }) => w.poolCap === null)).toBe(true);
  });

  it("gives no pool to a website whose group has no billing, hides other organizations' websites and checks input", async () => {
    const s = await setup();
    await fundGroupPool(database, s.f.groupA.id, { oneTime: 10 });
    const lone = await s.api.post("/api/v1/usage/preview", { websiteId: s.f.loneWebsite.id, credits: 1 });
    expect(lone.json).toEqual({ covered: false, parts: [], balance: { website: 0, groupMonthly: 0, groupOneTime: 0 } });
    expect((await s.api.post("/api/v1/usage/preview", { websiteId: s.f.websitesA[0]!.id, credits: 10 })).json.covered).toBe(true);
    const other = await setup();
    expect((await other.api.post("/api/v1/usage/preview", { websiteId: s.f.websitesA[0]!.id, credits: 1 })).status).toBe(404);
    for (const bad of [{ websiteId: s.f.websitesA[0]!.id, credits: 0 }, { websiteId: "x", credits: 1 }, { websiteId: s.f.websitesA[0]!.id, credits: 1, idempotencyKey: "k" }]) {
      expect((await s.api.post("/api/v1/usage/preview", bad)).status).toBe(400);
    }
    expect((await new Client(server.url).post("/api/v1/usage/preview", { websiteId: s.f.websitesA[0]!.id, credits: 1 })).status).toBe(401);
  });

  it("answers a website the platform deleted 404, as the debit and the balance do", async () => {
    const s = await setup({ oneTime: 10 });
    const site = s.f.websitesA[0]!.id;
    await database.query("update websites set external_id = $2 where id = $1", [site, `site_${site}`]);
    expect((await s.operator.delete(`/api/operator/websites/site_${site}`)).status).toBe(204);
    const p = await s.api.post("/api/v1/usage/preview", { websiteId: site, credits: 1 });
    expect((await use(s, site, 1)).status).toBe(404);
    expect((await s.api.get(`/api/v1/websites/${site}/balance`)).status).toBe(404);
    expect({ status: p.status, body: p.json }).toEqual({ status: 404, body: { error: { code: "not_found", message: "Website not found." } } });
  });
});
