import { connect, createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database, type Query } from "../../src/server/db/client.js";
import { setPoolCap } from "../../src/server/modules/controls/pool-caps.js";
import { adjustGrant, findInvariantViolations } from "../../src/server/modules/ledger/index.js";
import { createUsageProcessor } from "../../src/server/modules/credits/usage-processor.js";
import { createTestDatabase } from "../support/database.js";
import { createOrgFixture, fundGroupPool } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";

// The hot tables (usage_events, ledger_entries) carry no foreign keys (migration 0007_hot_path):
// the debit transaction guarantees the references, and the invariant verifier must catch what the
// keys used to refuse. Each broken row is written in a transaction that is rolled back.
let database: Database;
let url: string | null;
let drop: () => Promise<void>;
beforeAll(async () => {
  const t = await createTestDatabase();
  database = t.database;
  url = t.url;
  drop = () => t.drop();
});
afterAll(() => drop?.());

class Rollback extends Error {}
async function violationsWith(write: (q: Query) => Promise<unknown>) {
  let found: Awaited<ReturnType<typeof findInvariantViolations>> | null = null;
  await database
    .transaction(async (q) => {
      await write(q);
      found = await findInvariantViolations(q);
      throw new Rollback();
    })
    .catch((e: unknown) => {
      if (!(e instanceof Rollback)) throw e;
    });
  return found!;
}

async function fundedPool() {
  const f = await createOrgFixture(database.db, { websites: 2 });
  await fundGroupPool(database, f.groupA.id, { oneTime: 100 });
  const { rows } = await database.query<{ id: number }>("select id from credit_grants where group_id = $1", [f.groupA.id]);
  return { f, grantId: Number(rows[0]!.id) };
}

describe("the verifier in place of the hot tables' foreign keys", () => {
  it("reports a ledger entry of a grant that does not exist", async () => {
    const v = await violationsWith((q) => q("insert into ledger_entries (grant_id, kind, amount) values (987654321, 'adjustment', 5)"));
    expect(v.grants).toEqual([expect.objectContaining({ id: 987654321, remaining: null })]);
  });

  it("reports a debit of a usage event that does not exist", async () => {
    const { grantId } = await fundedPool();
    const ghost = crypto.randomUUID();
    const v = await violationsWith(async (q) => {
      await q("insert into ledger_entries (grant_id, kind, amount, usage_event_id) values ($1, 'debit', -1, $2)", [grantId, ghost]);
      await q("update credit_grants set remaining = remaining - 1 where id = $1", [grantId]);
    });
    expect(v.grants).toEqual([]);
    expect(v.events).toEqual([{ id: ghost }]);
  });

  it("reports a usage event of a website that does not exist, or of another organization's website", async () => {
    const { f, grantId } = await fundedPool();
    const other = await createOrgFixture(database.db, { websites: 1 });
    const [noSite, wrongOrg] = [crypto.randomUUID(), crypto.randomUUID()];
    const v = await violationsWith(async (q) => {
      for (const [id, websiteId] of [[noSite, crypto.randomUUID()], [wrongOrg, other.websitesA[0]!.id]] as const) {
        await q(`insert into usage_events (id, org_id, website_id, idempotency_key, credits, response) values ($1, $2, $3, $4, 1, '{}')`, [id, f.org.id, websiteId, `key-${id}`]);
        await q("insert into ledger_entries (grant_id, kind, amount, usage_event_id) values ($1, 'debit', -1, $2)", [grantId, id]);
        await q("update credit_grants set remaining = remaining - 1 where id = $1", [grantId]);
      }
    });
    expect(v.grants).toEqual([]);
    expect(v.events.map((e) => e.id).sort()).toEqual([noSite, wrongOrg].sort());
  });

  it("finds nothing after concurrent real debits, and a debit updates its grant without touching an index (no index names remaining)", async () => {
    const { f } = await fundedPool();
    const processor = createUsageProcessor({ database, clock: () => new Date() });
    // 40 concurrent events of 3 credits on a pool of 100: 33 fit, 7 are refused, 1 credit is left.
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => processor.submit({ orgId: f.org.id, websiteId: f.websitesA[i % 2]!.id, credits: 3, idempotencyKey: `hot-${i}` })),
    );
    expect(outcomes.filter((o) => o.status === 200)).toHaveLength(33);
    expect(outcomes.filter((o) => o.status === 402)).toHaveLength(7);
    const { rows: left } = await database.query<{ r: number }>("select sum(remaining)::int as r from credit_grants where group_id = $1", [f.groupA.id]);
    expect(left[0]!.r).toBe(1);
    await expectLedgerConsistent(database);
    const { rows } = await database.query<{ indexdef: string }>("select indexdef from pg_indexes where tablename = 'credit_grants'");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => /remaining/i.test(r.indexdef))).toEqual([]);
  });
});

describe("the usage lanes' connections", () => {
  const mode = async (q: Query) => (await q<{ plan_cache_mode: string }>("show plan_cache_mode")).rows[0]!.plan_cache_mode;

  it("reuse one plan per statement, whatever a batch's shape, while the other connections keep PostgreSQL's own choice", async (ctx) => {
    ctx.skip(database.kind !== "postgres", "PostgreSQL only: PGlite plans every statement (no prepared statements)");
    expect(await mode(database.lanes.query)).toBe("force_generic_plan");
    expect(await database.lanes.transaction(mode)).toBe("force_generic_plan");
    expect(await mode(database.query)).toBe("auto");
  });

  it("still debit behind a connection pooler that refuses the plan setting (PgBouncer's unsupported startup parameter), with PostgreSQL's own choice", async (ctx) => {
    ctx.skip(database.kind !== "postgres", "PostgreSQL only: a pooler sits in front of a server");
    const pooler = await refusingPooler(url!);
    const behind = await openDatabase({ url: pooler.url, poolSize: 2 });
    try {
      expect(await mode(behind.lanes.query)).toBe("auto");
      expect(pooler.refused()).toBe(1);
      const { f } = await fundedPool();
      const processor = createUsageProcessor({ database: behind.lanes, clock: () => new Date() });
      const outcome = await processor.submit({ orgId: f.org.id, websiteId: f.websitesA[0]!.id, credits: 7, idempotencyKey: "behind-a-pooler" });
      expect(outcome).toMatchObject({ status: 200, result: { credits: 7, balance: { groupOneTime: 93 } } });
      await expectLedgerConsistent(database);
    } finally {
      await behind.close();
      await pooler.close();
    }
  });
});

/**
 * A stand-in for a connection pooler in front of the test's server: it refuses a connection whose
 * startup message carries `options` the way PgBouncer does (FATAL 08P01 "unsupported startup
 * parameter: options") and passes every other connection through, byte for byte.
 */
async function refusingPooler(target: string) {
  const server = new URL(target);
  let refused = 0;
  const listener = createServer((client) => {
    client.once("data", (startup: Buffer) => {
      // Startup message: length, protocol version, then key\0value\0 pairs.
      const keys = startup.subarray(8).toString("utf8").split("\0").filter((_, i) => i % 2 === 0);
      if (keys.includes("options")) {
        refused++;
        const fields = Buffer.from("SFATAL\0VFATAL\0C08P01\0Munsupported startup parameter: options\0\0", "utf8");
        const header = Buffer.alloc(5);
        header.write("E", 0);
        header.writeInt32BE(4 + fields.length, 1);
        return void client.end(Buffer.concat([header, fields]));
      }
      const upstream = connect(Number(server.port || 5432), server.hostname);
      upstream.write(startup);
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) s.on("error", () => void [client, upstream].forEach((x) => x.destroy()));
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const u = new URL(target);
  u.host = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
  return {
    url: u.toString(),
    refused: () => refused,
    close: () => new Promise<void>((resolve) => listener.close(() => resolve())),
  };
}

describe("the debit without row locks (optimistic, issue 15)", () => {
  /**
   * The real database, with another writer between the debit's first read and its write: it takes
   * `take` credits from the pool's grant (an adjustment, with its ledger entry), as another process would.
   */
  function spoiledOnce(grantId: number, take: number) {
    const seen: string[] = [];
    let spoiled = false;
    const db: Database = {
      ...database,
      query: async (text, params, opts) => {
        seen.push(opts?.prepare ?? text.slice(0, 20));
        const r = await database.query(text, params, opts);
        if (opts?.prepare === "usage_read" && !spoiled) {
          spoiled = true;
          await database.transaction(async (q) => {
            await q("update credit_grants set remaining = remaining - $2 where id = $1", [grantId, take]);
            await q("insert into ledger_entries (grant_id, kind, amount) values ($1, 'adjustment', $2)", [grantId, -take]);
          });
        }
        return r as never;
      },
      transaction: (fn) => database.transaction((q) => fn((text, params, opts) => (seen.push(opts?.prepare ?? text.slice(0, 20)), q(text, params, opts)))),
    };
    return { db, statements: () => seen.filter((x) => x.startsWith("usage_")) };
  }
  const state = async (grantId: number, orgId: string) =>
    (
      await database.query<{ remaining: number; events: number; debits: number }>(
        `select (select remaining from credit_grants where id = $1)::int as remaining,
                (select count(*) from usage_events where org_id = $2)::int as events,
                (select count(*) from ledger_entries where grant_id = $1 and kind = 'debit')::int as debits`,
        [grantId, orgId],
      )
    ).rows[0];

  it("debits on top of another writer's change while the grant still covers the part (debits commute)", async () => {
    const { f, grantId } = await fundedPool();
    const spoil = spoiledOnce(grantId, 10);
    const processor = createUsageProcessor({ database: spoil.db, clock: () => new Date() });
    const outcome = await processor.submit({ orgId: f.org.id, websiteId: f.websitesA[0]!.id, credits: 5, idempotencyKey: "commutes" });
    expect(outcome).toMatchObject({ status: 200, result: { credits: 5 } });
    expect(spoil.statements()).toEqual(["usage_read", "usage_write"]);
    expect(await state(grantId, f.org.id)).toEqual({ remaining: 85, events: 1, debits: 1 });
    await expectLedgerConsistent(database);
  });

  it("keeps nothing of a plan the grant no longer covers, and decides again holding the rows: refused, nothing debited", async () => {
    const { f, grantId } = await fundedPool();
    const spoil = spoiledOnce(grantId, 97);
    const processor = createUsageProcessor({ database: spoil.db, clock: () => new Date() });
    const outcome = await processor.submit({ orgId: f.org.id, websiteId: f.websitesA[0]!.id, credits: 5, idempotencyKey: "spoiled" });
    expect(outcome).toMatchObject({ status: 402, error: { code: "insufficient_credits", message: "Not enough credits: 5 requested, 3 available." } });
    // Planned without locks against 100 credits; the write found 3 and kept nothing; read again locked.
    expect(spoil.statements()).toEqual(["usage_read", "usage_write", "usage_read_lock"]);
    expect(await state(grantId, f.org.id)).toEqual({ remaining: 3, events: 0, debits: 0 });
    await expectLedgerConsistent(database);
  });
});

describe("a lane's memory of its websites (a batch planned without the read, issue 15)", () => {
  /** The real database, recording the hot statements each debit runs. */
  function recorded() {
    const seen: string[] = [];
    const db: Database = {
      ...database,
      query: (text, params, opts) => (seen.push(opts?.prepare ?? ""), database.query(text, params, opts)),
      transaction: (fn) => database.transaction((q) => fn((text, params, opts) => (seen.push(opts?.prepare ?? ""), q(text, params, opts)))),
    };
    return { processor: createUsageProcessor({ database: db, clock: () => new Date() }), statements: () => seen.splice(0).filter((x) => x.startsWith("usage_")) };
  }
  /** A pool of 100 one-time credits, and a first debit of 5 that the lane remembers. */
  async function remembered() {
    const { f, grantId } = await fundedPool();
    const r = recorded();
    const site = f.websitesA[0]!.id;
    const debit = (credits: number, key: string) => r.processor.submit({ orgId: f.org.id, websiteId: site, credits, idempotencyKey: key });
    expect(await debit(5, "first")).toMatchObject({ status: 200, result: { balance: { groupOneTime: 95 } } });
    expect(r.statements()).toEqual(["usage_read", "usage_write"]);
    return { f, grantId, site, debit, statements: r.statements };
  }

  it("debits the next batch of the same websites in one statement, the balance counting on", async () => {
    const { grantId, f, debit, statements } = await remembered();
    expect(await debit(7, "second")).toMatchObject({ status: 200, result: { parts: [{ source: "group_one_time", credits: 7 }], balance: { groupOneTime: 88 } } });
    expect(statements()).toEqual(["usage_write"]);
    // A replay is the first answer again, not a second debit.
    expect(await debit(7, "second")).toMatchObject({ status: 200, result: { balance: { groupOneTime: 88 } } });
    expect(await database.query("select remaining from credit_grants where id = $1", [grantId])).toMatchObject({ rows: [{ remaining: 88 }] });
    expect((await database.query("select 1 from usage_events where org_id = $1", [f.org.id])).rows).toHaveLength(2);
    await expectLedgerConsistent(database);
  });

  it("draws on credits bought since, in consumption order (monthly before one-time)", async () => {
    const { f, debit, statements } = await remembered();
    await fundGroupPool(database, f.groupA.id, { monthly: 50 });
    expect(await debit(10, "after-purchase")).toMatchObject({
      status: 200,
      result: { parts: [{ source: "group_monthly", credits: 10 }], balance: { groupMonthly: 40, groupOneTime: 95 } },
    });
    expect(statements()).toEqual(["usage_write", "usage_read", "usage_write"]);
    await expectLedgerConsistent(database);
  });

  it("answers with credits added to a grant since (an adjustment)", async () => {
    const { grantId, debit } = await remembered();
    await database.transaction((q) => adjustGrant(q, { grantId, amount: 5, now: new Date() }));
    expect(await debit(1, "after-adjustment")).toMatchObject({ status: 200, result: { balance: { groupOneTime: 99 } } });
    await expectLedgerConsistent(database);
  });

  it("holds a pool cap set since", async () => {
    const { f, site, debit } = await remembered();
    await setPoolCap({ database, groupId: f.groupA.id, websiteId: site, monthlyCredits: 8, now: new Date() });
    expect(await debit(5, "past-the-cap")).toMatchObject({ status: 402, error: { code: "pool_cap_reached" } });
    expect(await debit(3, "up-to-the-cap")).toMatchObject({ status: 200 });
    await expectLedgerConsistent(database);
  });

  it("does not draw on the pool of a group the website has left", async () => {
    const { f, site, debit } = await remembered();
    await database.query("update websites set group_id = $2 where id = $1", [site, f.groupB.id]);
    expect(await debit(5, "moved")).toMatchObject({ status: 402, error: { code: "insufficient_credits", message: "Not enough credits: 5 requested, 0 available." } });
    await expectLedgerConsistent(database);
  });

  it("sends the low-balance alert of controls set since, at the debit that crosses the threshold", async () => {
    const { f, debit } = await remembered();
    await database.query("insert into group_controls (group_id, low_balance_threshold, webhook_signing_secret) values ($1, 90, 'whsec_test')", [f.groupA.id]);
    expect(await debit(10, "crossing")).toMatchObject({ status: 200, result: { balance: { groupOneTime: 85 } } });
    const { rows } = await database.query<{ type: string }>("select type from alert_outbox where group_id = $1", [f.groupA.id]);
    expect(rows.map((r) => r.type)).toEqual(["group.credits.low"]);
  });
});

describe("pipelined lanes (depth 2: a lane's next batch sent while one is in flight, issue 15)", () => {
  /** The lanes' connections, counting the writes in flight at once on the pipelined ones; `beforeWrite` runs before each is sent. */
  function pipelinedLanes(beforeWrite: (n: number) => Promise<void> = () => Promise.resolve()) {
    let inFlight = 0;
    let most = 0;
    let writes = 0;
    const lanes: Database["lanes"] = {
      ...database.lanes,
      pipelined: (lane) => {
        const query = database.lanes.pipelined!(lane);
        return async (text, params, opts) => {
          if (opts?.prepare !== "usage_write") return query(text, params, opts);
          await beforeWrite(++writes);
          most = Math.max(most, ++inFlight);
          try {
            return await query(text, params, opts);
          } finally {
            inFlight--;
          }
        };
      },
    };
    return { lanes, most: () => most };
  }
  /** `clients` callers, each sending `each` events of 3 credits one after another (as the hot-pool bench's clients do). */
  const spend = async (processor: ReturnType<typeof createUsageProcessor>, f: Awaited<ReturnType<typeof fundedPool>>["f"], clients: number, each: number, prefix: string) =>
    (
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          const outcomes = [];
          for (let i = 0; i < each; i++) {
            outcomes.push(await processor.submit({ orgId: f.org.id, websiteId: f.websitesA[c % 2]!.id, credits: 3, idempotencyKey: `${prefix}-${c}-${i}` }));
          }
          return outcomes;
        }),
      )
    ).flat();

  it("debits every event once, in order: each answer's balance counts on from the batch in flight before it, and the pool's last credits are refused", async (ctx) => {
    ctx.skip(database.kind !== "postgres", "PostgreSQL only: PGlite has one connection and no pipeline");
    const { f, grantId } = await fundedPool();
    const p = pipelinedLanes();
    const processor = createUsageProcessor({ database: p.lanes, clock: () => new Date(), depth: 2, lingerMs: 1 });
    // 8 callers, 5 events of 3 credits each: 33 fit in the pool of 100.
    const outcomes = await spend(processor, f, 8, 5, "burst");
    expect(p.most()).toBe(2);
    const balances = outcomes.flatMap((o) => (o.status === 200 ? [o.result.balance.groupOneTime] : []));
    // 33 debits of 3 from 100: every balance from 97 down to 1, each once (a batch planned on one in
    // flight counted its debits), and 7 refusals.
    expect(balances.sort((a, b) => b - a)).toEqual(Array.from({ length: 33 }, (_, i) => 97 - 3 * i));
    expect(outcomes.filter((o) => o.status === 402)).toHaveLength(7);
    expect(await database.query("select remaining from credit_grants where id = $1", [grantId])).toMatchObject({ rows: [{ remaining: 1 }] });
    await expectLedgerConsistent(database);
  });

  it("a batch planned on top of one whose write fails is planned again: nothing lost, nothing debited twice", async (ctx) => {
    ctx.skip(database.kind !== "postgres", "PostgreSQL only: PGlite has one connection and no pipeline");
    const { f } = await fundedPool();
    // Before the third write is sent, 50 credits are bought for the pool: that write's plan is stale
    // (40001: a grant it did not know), and so is the one planned on it; both are planned again.
    const p = pipelinedLanes(async (n) => {
      if (n === 3) await fundGroupPool(database, f.groupA.id, { oneTime: 50 });
    });
    const processor = createUsageProcessor({ database: p.lanes, clock: () => new Date(), depth: 2, lingerMs: 1 });
    const outcomes = await spend(processor, f, 10, 5, "burst");
    expect(p.most()).toBe(2);
    const debited = outcomes.filter((o) => o.status === 200).length;
    // 150 credits in all: 50 events of 3 fit exactly.
    expect(debited).toBe(50);
    const { rows } = await database.query<{ remaining: number; events: number }>(
      "select (select sum(remaining) from credit_grants where group_id = $1)::int as remaining, (select count(*) from usage_events where org_id = $2)::int as events",
      [f.groupA.id, f.org.id],
    );
    expect(rows[0]).toEqual({ remaining: 0, events: 50 });
    await expectLedgerConsistent(database);
  });

  it("two processes' pipelined lanes on one pool: every debit once, the pool never below zero", async (ctx) => {
    ctx.skip(database.kind !== "postgres", "PostgreSQL only: PGlite has one connection and no pipeline");
    const { f, grantId } = await fundedPool();
    const [a, b] = [pipelinedLanes(), pipelinedLanes()].map((p) => createUsageProcessor({ database: p.lanes, clock: () => new Date(), depth: 2, lingerMs: 1 }));
    const outcomes = (await Promise.all([spend(a!, f, 6, 5, "a"), spend(b!, f, 6, 5, "b")])).flat();
    expect(outcomes.filter((o) => o.status === 200)).toHaveLength(33);
    expect(outcomes.filter((o) => o.status === 402)).toHaveLength(27);
    expect(await database.query("select remaining from credit_grants where id = $1", [grantId])).toMatchObject({ rows: [{ remaining: 1 }] });
    await expectLedgerConsistent(database);
  });
});
