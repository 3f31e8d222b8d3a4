import { isDeepStrictEqual } from "node:util";
import { findInvariantViolations, grantCredits } from "../../src/server/modules/ledger/index.js";
import type { ServerProcess } from "../support/process.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool } from "../support/factories.js";
import { Http, rng, type ChaosEnv, type Report } from "./lib/env.js";

const CLIENTS = 64;
const WEBSITES = 20;

interface Event {
  websiteId: string;
  credits: number;
  idempotencyKey: string;
}
type Outcome = { status: number; body: any } | { status: "network-error"; body: null };

/** 20 websites of one group; demand twice what the websites and the group's pool hold together. */
async function prepare(env: ChaosEnv, count: number, seed: number) {
  const f = await createOrgFixture(env.database.db, { websites: WEBSITES });
  const key = await createApiKeyFor(env.database, f.org.id);
  const random = rng(seed);
  const events: Event[] = Array.from({ length: count }, (_, i) => ({
    websiteId: f.websitesA[Math.floor(random() * WEBSITES)]!.id,
    credits: 1 + Math.floor(random() * 9),
    idempotencyKey: `chaos-${seed}-${i}`,
  }));
  const demand = events.reduce((a, e) => a + e.credits, 0);
  const available = Math.floor(demand / 2);
  // 10% on the websites' own grants, 50% monthly, the rest one-time.
  const perSite = Math.floor((available * 0.1) / 5);
  await env.database.transaction(async (q) => {
    for (let i = 0; i < 5; i++) await grantCredits(q, { kind: "website", websiteId: f.websitesA[i]!.id, credits: perSite, sourceKey: `chaos-site-${seed}-${i}`, now: new Date() });
  });
  const monthly = Math.floor(available * 0.5);
  await fundGroupPool(env.database, f.groupA.id, { monthly, oneTime: available - monthly - perSite * 5 });
  return { f, key, events, demand, available };
}

/** CLIENTS loops, each taking the next event and sending it to the next live API process. */
async function drive(events: Event[], key: string, targets: () => string[], onProgress?: (done: number) => void) {
  const outcomes: Outcome[] = new Array<Outcome>(events.length);
  const latencies: number[] = [];
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < events.length; i = next++) {
        const live = targets();
        const base = live[i % live.length]!;
        const started = performance.now();
        try {
          const res = await fetch(`${base}/api/v1/usage`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(events[i]),
            signal: AbortSignal.timeout(30_000),
          });
          outcomes[i] = { status: res.status, body: await res.json().catch(() => null) };
        } catch {
          outcomes[i] = { status: "network-error", body: null };
        }
        latencies.push(performance.now() - started);
        onProgress?.(++done);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { outcomes, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

async function ledgerFigures(env: ChaosEnv, groupId: string, websiteIds: string[]) {
  const v = await findInvariantViolations(env.database.query);
  const { rows } = await env.database.query<{ granted: number; remaining: number; negative: number; debited: number }>(
    `select coalesce(sum(g.granted), 0)::bigint as granted, coalesce(sum(g.remaining), 0)::bigint as remaining,
            count(*) filter (where g.remaining < 0)::int as negative,
            coalesce((select -sum(l.amount) from ledger_entries l join credit_grants g2 on g2.id = l.grant_id
                       where l.kind = 'debit' and (g2.group_id = $1 or g2.website_id = any($2::uuid[]))), 0)::bigint as debited
       from credit_grants g where g.group_id = $1 or g.website_id = any($2::uuid[])`,
    [groupId, websiteIds],
  );
  const r = rows[0]!;
  return { violations: v.grants.length + v.events.length, granted: Number(r.granted), remaining: Number(r.remaining), negative: r.negative, debited: Number(r.debited) };
}

/** 1. Two API processes, 64 clients, 20,000 events asking for twice the credits there are. */
export async function contention(env: ChaosEnv, report: Report, processes: ServerProcess[], count = 20_000) {
  const { f, key, events, demand, available } = await prepare(env, count, 1);
  const started = performance.now();
  const { outcomes, p99 } = await drive(events, key, () => processes.map((p) => p.url));
  const seconds = (performance.now() - started) / 1000;
  const accepted = outcomes.filter((o) => o.status === 200);
  const acceptedCredits = events.reduce((a, e, i) => a + (outcomes[i]!.status === 200 ? e.credits : 0), 0);
  const l = await ledgerFigures(env, f.groupA.id, f.websitesA.map((w) => w.id));
  report.figure("contention.processes", processes.length);
  report.figure("contention.clients", CLIENTS);
  report.figure("contention.events", events.length);
  report.figure("contention.demand_credits", demand);
  report.figure("contention.available_credits", available);
  report.figure("contention.accepted", accepted.length);
  report.figure("contention.rejected", outcomes.filter((o) => o.status === 402).length);
  report.must("contention.other_answers", outcomes.filter((o) => o.status !== 200 && o.status !== 402).length, 0, "every event is either debited or refused");
  report.figure("contention.accepted_credits", acceptedCredits);
  report.must("contention.overdrafts", l.negative + Math.max(0, acceptedCredits - available), 0);
  report.must("contention.debited_minus_accepted", l.debited - acceptedCredits, 0, "the ledger holds exactly the acknowledged debits");
  report.must("contention.ledger_violations", l.violations, 0, "ledger entries sum to every balance");
  report.must("contention.balance_minus_ledger", l.granted - l.debited - l.remaining, 0);
  report.figure("contention.remaining_credits", l.remaining);
  report.figure("contention.requests_per_second", Math.round(events.length / seconds));
  report.figure("contention.p99_ms", Math.round(p99));
}

/** 2. The same load; one API process is killed with SIGKILL in the middle and started again. */
export async function crash(env: ChaosEnv, report: Report, processes: ServerProcess[], count = 20_000) {
  const { f, key, events, available } = await prepare(env, count, 2);
  let live = processes.map((p) => p.url);
  let victim = processes[1]!;
  let killedAt = 0;
  let restartMs = 0;
  const restart: { done: Promise<void> | null } = { done: null };
  const { outcomes } = await drive(events, key, () => live, (done) => {
    if (done === Math.floor(count * 0.4) && !restart.done) {
      restart.done = (async () => {
        killedAt = performance.now();
        const dead = victim;
        await dead.kill("SIGKILL");
        live = live.filter((u) => u !== dead.url);
        victim = await env.spawn();
        restartMs = performance.now() - killedAt;
        processes[1] = victim;
        live = [...live, victim.url];
      })();
    }
  });
  await restart.done;
  const acknowledged = events.map((e, i) => ({ e, o: outcomes[i]! })).filter((x) => x.o.status === 200);
  const unknown = events.filter((_, i) => outcomes[i]!.status === "network-error" || outcomes[i]!.status >= 500);
  report.figure("crash.events", events.length);
  report.figure("crash.killed_after_events", Math.floor(count * 0.4));
  report.figure("crash.restart_ms", Math.round(restartMs));
  report.figure("crash.acknowledged", acknowledged.length);
  report.figure("crash.unanswered_at_kill", unknown.length);

  // Every acknowledged event is in the ledger with the id it was acknowledged with, fully debited.
  const { rows } = await env.database.query<{ idempotency_key: string; id: string; debited: number; credits: number }>(
    `select e.idempotency_key, e.id, e.credits, coalesce(-sum(l.amount), 0)::bigint as debited
       from usage_events e left join ledger_entries l on l.usage_event_id = e.id
      where e.org_id = $1 group by e.id`,
    [f.org.id],
  );
  const stored = new Map(rows.map((r) => [r.idempotency_key, r]));
  report.must("crash.lost_acknowledged", acknowledged.filter(({ e, o }) => stored.get(e.idempotencyKey)?.id !== o.body?.id).length, 0);
  report.must("crash.half_applied", rows.filter((r) => Number(r.debited) !== Number(r.credits)).length, 0, "no event is partly debited");
  const committedUnknown = unknown.filter((e) => stored.has(e.idempotencyKey)).length;
  report.figure("crash.unanswered_but_committed", committedUnknown);

  // Retries with the same keys: the first result for everything that was committed, an answer for the rest.
  const api = new Http(live[0]!, { authorization: `Bearer ${key}` });
  let replayMismatch = 0;
  const retry = [...unknown, ...acknowledged.map((a) => a.e)];
  const firstOf = new Map(acknowledged.map(({ e, o }) => [e.idempotencyKey, o.body]));
  let next = 0;
  let retryErrors = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < retry.length; i = next++) {
        const e = retry[i]!;
        const r = await api.post("/api/v1/usage", e);
        const first = firstOf.get(e.idempotencyKey) ?? (stored.has(e.idempotencyKey) ? { id: stored.get(e.idempotencyKey)!.id } : null);
        if (r.status !== 200 && r.status !== 402) retryErrors++;
        if (first && (r.status !== 200 || r.json.id !== first.id || (firstOf.has(e.idempotencyKey) && !isDeepStrictEqual(r.json, first)))) replayMismatch++;
      }
    }),
  );
  report.figure("crash.retried", retry.length);
  report.must("crash.replay_mismatch", replayMismatch, 0, "a retry with the same key answers the first result");
  report.must("crash.retry_errors", retryErrors, 0);
  const l = await ledgerFigures(env, f.groupA.id, f.websitesA.map((w) => w.id));
  report.must("crash.ledger_violations", l.violations, 0);
  report.must("crash.overdrafts", l.negative + Math.max(0, l.debited - available), 0);
  const { rows: dup } = await env.database.query<{ n: number }>(
    "select count(*)::int as n from (select idempotency_key from usage_events where org_id = $1 group by idempotency_key having count(*) > 1) d",
    [f.org.id],
  );
  report.must("crash.duplicate_events", dup[0]!.n, 0);
}
