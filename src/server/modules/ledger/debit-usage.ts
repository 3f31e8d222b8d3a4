import type { Balance, UsageBody, UsageResult } from "../../../contracts/usage.js";
import { sortForConsumption, type GrantSnapshot } from "../../../domain/consumption.js";
import { monthKey } from "../../../domain/periods.js";
import { planCappedDebitInPlace, poolCreditsOf } from "../../../domain/pool-controls.js";
import { plainArray, type Query } from "../../db/client.js";
import { syncPoolControls } from "../controls/pool-state.js";
import { ownersOf, type DebitCache, type DebitState, type GrantJson, type WebsiteRow } from "./debit-state.js";
import { decodeAnswer, encodeAnswer } from "./event-answer.js";
import { timeOrderedId } from "./event-id.js";
import { expireGrants } from "./expire-credits.js";
import { SOURCE_OF } from "./grant-kinds.js";

export interface UsageEvent extends UsageBody {
  orgId: string;
  /** An API key to confirm unrevoked in the debit's own statement (read from a cache that may lag a revocation). */
  apiKeyId?: string | undefined;
}

export type UsageOutcome =
  | { status: 200; result: UsageResult }
  | { status: 401 | 402 | 404 | 409; error: { code: "unauthenticated" | "insufficient_credits" | "pool_cap_reached" | "not_found" | "conflict"; message: string } };


const notFound: UsageOutcome = { status: 404, error: { code: "not_found", message: "Website not found." } };
const revoked: UsageOutcome = { status: 401, error: { code: "unauthenticated", message: "The API key is not valid." } };
const conflict: UsageOutcome = {
  status: 409,
  error: { code: "conflict", message: "This idempotency key was already used with a different request." },
};

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A grant as the plan uses it. */
type GrantRow = Omit<GrantJson, "expires_at" | "created_at"> & { expires_at: Date | null; created_at: Date };

/**
 * The read of a debit, one round trip: the websites of the events (another organization's website
 * does not exist for the caller), replays (a key seen before answers with its first result, or
 * conflicts), every grant the events may draw on (in id order), the websites' pool caps (set in
 * their current group), which pools have controls, and which of the events' API keys are still
 * valid (the HTTP layer read them from its cache). With `lock`, grants and caps are locked FOR UPDATE.
 */
const readSql = (lock: boolean) =>
  `with sites as (
       select w.id, w.org_id, w.group_id, (bp.group_id is not null) as billing
         from websites w left join billing_profiles bp on bp.group_id = w.group_id
        where w.id = any($1::uuid[]) and w.deleted_at is null
     ), locked as materialized (
       select id, kind, website_id, group_id, remaining, expires_at, created_at
         from credit_grants
        where remaining > 0
          and (website_id = any($1::uuid[]) or group_id in (select group_id from sites where billing and group_id is not null))
        order by id
          ${lock ? "for update" : ""}
     ), caps as materialized (
       select c.website_id, c.monthly_credits, case when c.used_month = $4 then c.used_credits else 0 end as used
         from website_pool_caps c join sites s on s.id = c.website_id and s.group_id = c.group_id and s.billing
        order by c.website_id
          ${lock ? "for update of c" : ""}
     )
     select (select coalesce(json_agg(s), '[]') from sites s) as sites,
            -- One index probe per key, whatever the table's size when the plan was made: as a join,
            -- a plan cached while usage_events was nearly empty hashes a whole scan of it.
            (select coalesce(json_agg(u), '[]') from unnest($2::uuid[], $3::text[]) as k(org_id, idempotency_key),
               lateral (select e.id, e.org_id, e.idempotency_key, e.website_id, e.credits, e.answer, e.response from usage_events e
                         where e.org_id = k.org_id and e.idempotency_key = k.idempotency_key offset 0) u) as seen,
            (select coalesce(json_agg(l order by l.id), '[]') from locked l) as grants,
            (select coalesce(json_agg(c), '[]') from caps c) as caps,
            (select coalesce(json_agg(gc.group_id), '[]') from group_controls gc where gc.group_id in (select group_id from sites where billing)) as controlled,
            (select coalesce(json_agg(k.id), '[]') from api_keys k where k.id = any($5::uuid[]) and k.revoked_at is null) as keys`;
const READ_AND_LOCK = readSql(true);
const READ = readSql(false);

/**
 * The write of a debit, one statement: the events (only those inserted now get debits), their
 * ledger entries, the day's rollup, the grants and caps, relatively and guarded (debits of two
 * processes on one pool commute while the grant covers both). Planned without locks, the state
 * planned against may have changed meanwhile, so it also checks what the plan relied on. If any
 * event was not inserted (its key was just used), a grant no longer covers its part, a cap would
 * be passed or the state changed, it fails whole (40001, `usage_plan_stale`) and keeps nothing.
 * It returns the debited grants' credits left and the drawn caps' use, after it (for the lane's cache).
 */
const WRITE = `with ev as (
     insert into usage_events (id, org_id, website_id, idempotency_key, credits, answer, created_at)
     select t.id, t.org_id, t.website_id, t.key, t.credits, t.answer::bigint[], $15::timestamptz
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::text[]) as t(id, org_id, website_id, key, credits, answer)
     on conflict (org_id, idempotency_key) do nothing
     returning id
   ), debits as (
     insert into ledger_entries (grant_id, kind, amount, usage_event_id, created_at)
     select t.g, 'debit', t.a, t.e, $15::timestamptz from unnest($7::bigint[], $8::bigint[], $9::uuid[]) with ordinality as t(g, a, e, n)
       join ev on ev.id = t.e
      order by t.n
     returning 1
   ), rollup as (
     -- The usage_daily rollup in the debits' own statement (0008): one upsert per (group,
     -- website) of the batch, from what was planned above; no lookup per entry.
     insert into usage_daily as u (group_id, day, website_id, website, group_monthly, group_one_time)
     select t.g, ($15::timestamptz at time zone 'UTC')::date, t.w, t.a, t.m, t.o
       from unnest($16::uuid[], $17::uuid[], $18::bigint[], $19::bigint[], $20::bigint[]) as t(g, w, a, m, o)
     on conflict (group_id, day, website_id) do update
        set website = u.website + excluded.website, group_monthly = u.group_monthly + excluded.group_monthly,
            group_one_time = u.group_one_time + excluded.group_one_time
   ), balances as (
     -- The guarded UPDATEs run as functions (0016): when another process's write of the pool holds
     -- the row, the re-check after its commit rebuilds their small plans, not this statement's. Each
     -- takes its grant only at the pool epoch this statement's snapshot reads (0018): a cap or pool
     -- controls committed since, which the checks below could not see, fail it.
     select grant_id as id, credits_left as remaining from usage_debit_grants($10::bigint[], $11::bigint[], usage_grant_epochs($10::bigint[]))
   ), capped as (
     select capped_website as website_id, credits_used as used_credits from usage_draw_caps($12::text, $13::uuid[], $14::bigint[])
      where cardinality($13::uuid[]) > 0
   )
   -- In this order: what the plan relied on, and the inserts, before the pool's grant is locked
   -- (held until the commit, which another process's debit of the pool waits for); the
   -- usage_daily upsert (not referenced, so run last) after it, so that two writes never hold
   -- rollup rows while waiting for each other's grant.
   select case
               when (select count(*) from websites w left join billing_profiles bp on bp.group_id = w.group_id
                       join unnest($21::uuid[], $22::uuid[], $23::uuid[], $24::bool[]) as s(id, org, grp, billing) on s.id = w.id
                      where w.deleted_at is null and w.org_id = s.org and w.group_id is not distinct from s.grp
                        and (bp.group_id is not null) = s.billing) <> cardinality($21::uuid[])
                 then usage_plan_stale('a website moved, was deleted or changed its billing')
               when array(select id from credit_grants where remaining > 0 and (website_id = any($21::uuid[]) or group_id = any($25::uuid[])) order by id)
                      <> $26::bigint[]
                 or exists (select from unnest($26::bigint[], $27::bigint[], $28::timestamptz[]) as p(id, r, x) join credit_grants g on g.id = p.id
                             where g.remaining > p.r or g.expires_at is distinct from p.x)
                 then usage_plan_stale('credits were added, used up or extended')
               when array(select c.website_id::text || ':' || c.monthly_credits from website_pool_caps c
                            join unnest($21::uuid[], $23::uuid[], $24::bool[]) as s(id, grp, billing) on s.id = c.website_id and s.grp = c.group_id and s.billing
                           order by c.website_id) <> $29::text[]
                 then usage_plan_stale('a cap was set or changed')
               when array(select group_id from group_controls where group_id = any($25::uuid[]) order by group_id) <> $30::uuid[]
                 then usage_plan_stale('pool controls were set or removed')
               when (select count(*) from api_keys where id = any($31::uuid[]) and revoked_at is null) <> cardinality($31::uuid[])
                 then usage_plan_stale('an API key was revoked')
               when (select count(*) from ev) <> cardinality($1::uuid[]) then usage_plan_stale('an idempotency key was used meanwhile')
               when (select count(*) from debits) <> cardinality($7::bigint[]) then usage_plan_stale('a part was not written')
               when (select count(*) from balances) <> cardinality($10::bigint[]) then usage_plan_stale('a grant no longer covers its part')
               when (select count(*) from capped) <> cardinality($13::uuid[]) then usage_plan_stale('a cap was reached meanwhile')
               else 0 end as ok,
          (select coalesce(json_agg(json_build_array(id, remaining)), '[]') from balances) as grants,
          (select coalesce(json_agg(json_build_array(website_id, used_credits)), '[]') from capped) as caps`;

/**
 * Debit a batch of usage events in the caller's transaction; returns one outcome per event, in
 * order. The two statements of `debit` are the hot path (measured in bench/usage.ts): keep them two.
 * Each event is all or nothing, planned in arrival order against the locked balances with the
 * domain's planner (`sortForConsumption` + `planDebitInPlace`, property-tested).
 * Fails with 40001 (the caller retries) when another process inserted one of the keys meanwhile.
 */
export async function debitUsageBatch(query: Query, events: readonly UsageEvent[], now: Date): Promise<UsageOutcome[]> {
  const { outcomes, poolsToSync } = await debit(query, events, now, "lock");
  if (poolsToSync.length > 0) await syncPoolControls(query, poolsToSync, now);
  return outcomes;
}

/** Found an expired grant: the optimistic debit leaves the batch to the locking one, which expires it. */
export class NeedsLock extends Error {}

/** The lane's cache could not decide the batch (a website it does not know, or an event it would refuse): read first. */
export class NeedsRead extends Error {}

/**
 * The same debit without a transaction and without row locks (issue 15): the plan is made against
 * the balances as they are, read by the first statement (`from: "read"`) or remembered by the
 * lane's `cache` from its last read and write (`from: "cache"`, no read at all; `NeedsRead` when it
 * cannot decide). The write statement (its own transaction, one round trip) takes each part from
 * its grant relatively, guarded, and checks what the plan relied on; if a grant no longer covers
 * its part, a cap would be passed, a key was used meanwhile or the state planned against changed,
 * it fails whole with 40001 (`usage_plan_stale`, migration 0014) and keeps nothing, and the caller
 * plans again. An answer's balance is the one planned against less this batch's debits (decision
 * 0002). Low-balance alerts and top-ups (`poolsToSync`) are the caller's to bring up to date, in a
 * transaction of their own after the write.
 * Throws `NeedsLock` when a grant has expired (the locking debit writes its expiry first).
 */
export function debitUsageOptimistic(
  query: Query,
  events: readonly UsageEvent[],
  now: Date,
  { from = "read", cache }: { from?: "read" | "cache"; cache?: DebitCache } = {},
): Promise<{ outcomes: UsageOutcome[]; poolsToSync: string[]; shared: boolean }> {
  return debit(query, events, now, from, cache);
}

async function debit(
  query: Query,
  events: readonly UsageEvent[],
  now: Date,
  from: "lock" | "read" | "cache",
  cache?: DebitCache,
): Promise<{ outcomes: UsageOutcome[]; poolsToSync: string[]; shared: boolean }> {
  const outcomes: (UsageOutcome | undefined)[] = new Array<UsageOutcome | undefined>(events.length);

  // 1-3: the read (readSql), with or without locks, or the lane's memory of it.
  const websiteIds = [...new Set(events.map((e) => e.websiteId))];
  const month = monthKey(now);
  const keyIds = [...new Set(events.flatMap((e) => (e.apiKeyId ? [e.apiKeyId] : [])))];
  let state: DebitState;
  if (from === "cache") {
    const known = cache?.state(websiteIds, keyIds, month);
    if (!known) throw new NeedsRead();
    state = known;
  } else {
    const { rows } = await query<DebitState>(
      from === "lock" ? READ_AND_LOCK : READ,
      [plainArray(websiteIds), plainArray(events.map((e) => e.orgId)), events.map((e) => e.idempotencyKey), month, plainArray(keyIds)],
      { prepare: from === "lock" ? "usage_read_lock" : "usage_read" },
    );
    state = rows[0]!;
    if (from === "read") cache?.absorbRead(state, month);
  }
  const { sites: siteRows, seen, grants, caps, controlled, keys } = state;
  // Keys revoked (or deleted) before this statement began: their events are refused, replays too.
  const validKeys = new Set(keys);
  // What each capped website may still draw from its pool this month, counted down as the batch is planned.
  const capLeft = new Map(caps.map((c) => [c.website_id, Math.max(0, Number(c.monthly_credits) - Number(c.used))]));
  const capOf = new Map(caps.map((c) => [c.website_id, Number(c.monthly_credits)]));
  const capDrawn = new Map<string, number>();
  const poolsDebited = new Set<string>();
  const sites = new Map(siteRows.map((s) => [s.id, s]));
  const firstByKey = new Map<string, { websiteId: string; credits: number; outcome: UsageOutcome | null }>();
  for (const s of seen) {
    const result = s.answer ? decodeAnswer(s, s.answer) : s.response!;
    firstByKey.set(`${s.org_id}\u0000${s.idempotency_key}`, { websiteId: s.website_id, credits: Number(s.credits), outcome: { status: 200, result } });
  }
  const locked: GrantRow[] = grants.map((g) => ({
    ...g,
    id: Number(g.id),
    remaining: Number(g.remaining),
    expires_at: g.expires_at === null ? null : new Date(g.expires_at),
    created_at: new Date(g.created_at),
  }));
  const expired = locked.filter((g) => g.expires_at !== null && g.expires_at.getTime() <= now.getTime());
  if (expired.length > 0 && from !== "lock") throw new NeedsLock();
  // No await when nothing expired: a batch planned from the lane's memory is planned and sent in one go (see absorbPlanned).
  const expiredPools = expired.length > 0 ? await expireGrants(query, { grants: expired, now, poolSync: false }) : [];

  const snapshots = new Map<GrantRow, GrantSnapshot>();
  const byWebsite = new Map<string, GrantSnapshot[]>();
  const byGroup = new Map<string, GrantSnapshot[]>();
  for (const g of locked) {
    const snap: GrantSnapshot = { id: String(g.id), source: SOURCE_OF[g.kind], remaining: Number(g.remaining), expiresAt: g.expires_at, createdAt: g.created_at };
    snapshots.set(g, snap);
    const owner = g.website_id ? byWebsite : byGroup;
    const key = (g.website_id ?? g.group_id)!;
    owner.set(key, [...(owner.get(key) ?? []), snap]);
  }
  const sortedFor = new Map<string, GrantSnapshot[]>();
  const candidates = (site: WebsiteRow) => {
    let list = sortedFor.get(site.id);
    if (!list) {
      const pool = site.group_id && site.billing ? (byGroup.get(site.group_id) ?? []) : [];
      list = sortForConsumption([...(byWebsite.get(site.id) ?? []), ...pool], now);
      sortedFor.set(site.id, list);
    }
    return list;
  };
  const balanceOf = (site: WebsiteRow): Balance => {
    const b: Balance = { website: 0, groupMonthly: 0, groupOneTime: 0 };
    for (const g of candidates(site)) {
      if (g.source === "website") b.website += g.remaining;
      else if (g.source === "group_monthly") b.groupMonthly += g.remaining;
      else b.groupOneTime += g.remaining;
    }
    return b;
  };

  // 4. Plan every event in arrival order against the locked balances.
  const newEvents: { id: string; orgId: string; websiteId: string; key: string; credits: number; response: UsageResult }[] = [];
  const debits: { grantId: string; amount: number; eventId: string }[] = [];
  /** Credits debited per (group, website) in this batch, by source: what it adds to usage_daily. */
  const rollupOf = new Map<string, { groupId: string; websiteId: string; website: number; monthly: number; oneTime: number }>();
  events.forEach((e, i) => {
    if (e.apiKeyId && !validKeys.has(e.apiKeyId)) return void (outcomes[i] = revoked);
    const site = sites.get(e.websiteId);
    if (!site || site.org_id !== e.orgId) return void (outcomes[i] = notFound);
    const mapKey = `${e.orgId}\u0000${e.idempotencyKey}`;
    const first = firstByKey.get(mapKey);
    if (first) {
      outcomes[i] = first.websiteId === e.websiteId && first.credits === e.credits ? (first.outcome ?? undefined) : conflict;
      return;
    }
    const plan = planCappedDebitInPlace(candidates(site), e.credits, capLeft.get(site.id) ?? null);
    if (!plan.ok) {
      const b = balanceOf(site);
      const available = b.website + b.groupMonthly + b.groupOneTime;
      outcomes[i] = {
        status: 402,
        error:
          plan.code === "insufficient_credits"
            ? { code: "insufficient_credits", message: `Not enough credits: ${e.credits} requested, ${available} available.` }
            : {
                code: "pool_cap_reached",
                message: `This website may draw ${capOf.get(site.id)} credits a month from its group's pool and has ${capLeft.get(site.id)} left: ${e.credits} requested (${b.website} of its own).`,
              },
      };
      // A refused event is not recorded: the same key may be retried once credits are added.
      firstByKey.set(mapKey, { websiteId: e.websiteId, credits: e.credits, outcome: null });
      return;
    }
    const { parts } = plan;
    const fromPool = poolCreditsOf(parts);
    if (fromPool > 0) {
      poolsDebited.add(site.group_id!);
      const left = capLeft.get(site.id);
      if (left !== undefined) {
        capLeft.set(site.id, left - fromPool);
        capDrawn.set(site.id, (capDrawn.get(site.id) ?? 0) + fromPool);
      }
    }
    const id = timeOrderedId(now.getTime());
    const result: UsageResult = {
      id,
      websiteId: e.websiteId,
      credits: e.credits,
      parts: parts.map((p) => ({ source: p.source, credits: p.credits })),
      balance: balanceOf(site),
    };
    outcomes[i] = { status: 200, result };
    firstByKey.set(mapKey, { websiteId: e.websiteId, credits: e.credits, outcome: outcomes[i] });
    newEvents.push({ id, orgId: e.orgId, websiteId: e.websiteId, key: e.idempotencyKey, credits: e.credits, response: result });
    for (const p of parts) debits.push({ grantId: p.grantId, amount: -p.credits, eventId: id });
    // The rollup counts a website's usage in its current group, own credits included (none without a group).
    if (site.group_id) {
      const rk = `${site.group_id}\u0000${site.id}`;
      let r = rollupOf.get(rk);
      if (!r) rollupOf.set(rk, (r = { groupId: site.group_id, websiteId: site.id, website: 0, monthly: 0, oneTime: 0 }));
      for (const p of parts) {
        if (p.source === "website") r.website += p.credits;
        else if (p.source === "group_monthly") r.monthly += p.credits;
        else r.oneTime += p.credits;
      }
    }
  });
  // A duplicate in the same batch of a refused event gets the same refusal.
  events.forEach((e, i) => {
    if (outcomes[i] === undefined) {
      const first = events.findIndex((x) => x.orgId === e.orgId && x.idempotencyKey === e.idempotencyKey);
      outcomes[i] = outcomes[first];
    }
  });

  // Remembered state decides only what it can: a refusal (a grant or cap the lane has not seen
  // refilled, a website it does not know) is decided again against a fresh read.
  if (from === "cache" && outcomes.some((o) => o?.status !== 200)) throw new NeedsRead();

  let shared = false;
  // 5. Write: the events (a concurrent duplicate from another process makes us start over), the debits, the balances.
  if (newEvents.length > 0) {
    const changed = locked.filter((g) => snapshots.get(g)!.remaining !== Number(g.remaining));
    const capped = [...capDrawn.keys()].sort(compare); // locked in one order by concurrent writes
    // The usage_daily rows of this batch, sorted so that concurrent batches lock them in one order.
    const rollup = [...rollupOf.values()].sort((x, y) => compare(x.groupId, y.groupId) || compare(x.websiteId, y.websiteId));
    // What the plan relied on, for the write to check: the websites as they were, the grants with
    // credits left of their owners (an expired one is written off by now), the caps, the controls.
    const { pools } = ownersOf(siteRows);
    const owners = new Set([...siteRows.map((s) => s.id), ...pools]);
    const planned = grants.filter((g, i) => !expired.includes(locked[i]!) && owners.has((g.website_id ?? g.group_id)!));
    const plannedCaps = caps.filter((c) => sites.has(c.website_id)).sort((x, y) => compare(x.website_id, y.website_id));
    const usedOf = new Map(caps.map((c) => [c.website_id, Number(c.used)]));
    const plannedLeft = changed.map((g): [number, number] => [Number(g.id), snapshots.get(g)!.remaining]);
    const plan = from === "lock" ? undefined : cache?.absorbPlanned(plannedLeft, capped.map((w) => [w, usedOf.get(w)! + capDrawn.get(w)!]));
    const { rows } = await query<{ grants: [number, number][]; caps: [string, number][] }>(WRITE, [
      plainArray(newEvents.map((e) => e.id)),
      plainArray(newEvents.map((e) => e.orgId)),
      plainArray(newEvents.map((e) => e.websiteId)),
      newEvents.map((e) => e.key),
      plainArray(newEvents.map((e) => e.credits)),
      `{${newEvents.map((e) => `"${encodeAnswer(e.response)}"`).join(",")}}`, // each answer a bigint[] literal (event-answer.ts)
      plainArray(debits.map((d) => d.grantId)),
      plainArray(debits.map((d) => d.amount)),
      plainArray(debits.map((d) => d.eventId)),
      plainArray(changed.map((g) => g.id)),
      plainArray(changed.map((g) => Number(g.remaining) - snapshots.get(g)!.remaining)),
      month,
      plainArray(capped),
      plainArray(capped.map((w) => capDrawn.get(w)!)),
      now, // the caller's clock dates the event, its entries and its rollup day (the demo's history, tests' days)
      plainArray(rollup.map((r) => r.groupId)),
      plainArray(rollup.map((r) => r.websiteId)),
      plainArray(rollup.map((r) => r.website)),
      plainArray(rollup.map((r) => r.monthly)),
      plainArray(rollup.map((r) => r.oneTime)),
      plainArray(siteRows.map((s) => s.id)),
      plainArray(siteRows.map((s) => s.org_id)),
      plainArray(siteRows.map((s) => s.group_id ?? "NULL")),
      plainArray(siteRows.map((s) => (s.billing ? "t" : "f"))),
      plainArray(pools),
      plainArray(planned.map((g) => Number(g.id))),
      plainArray(planned.map((g) => Number(g.remaining))),
      plainArray(planned.map((g) => g.expires_at ?? "NULL")), // as read: microseconds kept
      plainArray(plannedCaps.map((c) => `${c.website_id}:${Number(c.monthly_credits)}`)),
      plainArray(controlled.filter((g) => pools.includes(g)).sort(compare)),
      plainArray(keys.filter((k) => keyIds.includes(k))),
    ], { prepare: "usage_write" });
    if (from !== "lock") cache?.absorbWrite(rows[0]!.grants, rows[0]!.caps, plan);
    // A grant left with less than this plan left it: another process debited it since the plan's state.
    const left = new Map(rows[0]!.grants.map(([id, remaining]) => [Number(id), Number(remaining)]));
    shared = plannedLeft.some(([id, remaining]) => left.get(id) !== remaining);
  }
  // Low-balance alerts and auto top-up, for pools that have controls (others cost nothing here).
  return { outcomes: outcomes as UsageOutcome[], poolsToSync: controlled.filter((g) => poolsDebited.has(g) || expiredPools.includes(g)), shared };
}

/**
 * Before a pool cap or the pool's controls are set: the pool's grants are locked (in id order, as a
 * debit takes them) and their `pool_epoch` raised (0018), so that a debit planned and snapshotted
 * before the setting commits fails its write and is planned again against it, and the setting's own
 * reads (a cap's use this month, the pool's balance) see every debit committed before it.
 */
export async function holdPoolForSetting(query: Query, groupId: string) {
  await query("select id from credit_grants where group_id = $1 and remaining > 0 order by id for update", [groupId]);
  await query("update credit_grants set pool_epoch = pool_epoch + 1 where group_id = $1 and remaining > 0", [groupId]);
}
