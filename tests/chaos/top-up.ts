import { findInvariantViolations } from "../../src/server/modules/ledger/index.js";
import type { ServerProcess } from "../support/process.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { Http, type ChaosEnv, type Report } from "./lib/env.js";

const CLIENTS = 32;
const THRESHOLD = 1_000;
const PACKAGES = 2; // 2,000 credits a top-up
const MAX_PER_MONTH = 6;
const ROUNDS = 8;

/**
 * Top-up storm: a partner group's pool is drained below its auto top-up threshold again and
 * again by concurrent events through two API processes (which also both run the top-up loop).
 * Each crossing buys once, never past the monthly limit; once the limit is reached the pool is
 * refilled by hand so the later rounds still cross. Figures: purchases == crossings (within the
 * limit), charges == grants.
 */
export async function topUpStorm(env: ChaosEnv, report: Report, processes: ServerProcess[]) {
  const f = await createOrgFixture(env.database.db, { partnerManaged: true, websites: 10 });
  const admin = await new Http(processes[0]!.url).login(f.orgAdmin, TEST_PASSWORD);
  const enabled = await admin.post(`/api/groups/${f.groupA.id}/billing/enable`);
  if (enabled.status !== 200) throw new Error(`enable billing answered ${enabled.status}`);
  await fundGroupPool(env.database, f.groupA.id, { oneTime: 3_000 });
  const key = await createApiKeyFor(env.database, f.org.id);
  const saved = await admin.put(`/api/groups/${f.groupA.id}/billing/settings`, {
    lowBalanceThreshold: THRESHOLD,
    autoTopUp: { threshold: THRESHOLD, packages: PACKAGES, maxPerMonth: MAX_PER_MONTH },
  });
  if (saved.status !== 200) throw new Error(`settings answered ${saved.status} ${saved.text}`);
  const settings = async () => (await admin.get(`/api/groups/${f.groupA.id}/billing/settings`)).json as { poolAvailable: number; poolLow: boolean };
  const pendingTopUps = async () =>
    (await env.database.query<{ n: number }>("select count(*)::int as n from auto_top_ups where group_id = $1 and status = 'pending'", [f.groupA.id])).rows[0]!.n;

  let refused = 0;
  let refills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let { poolAvailable } = await settings();
    if (poolAvailable < THRESHOLD) {
      // The monthly limit was reached: refill by hand so this round crosses again.
      await fundGroupPool(env.database, f.groupA.id, { oneTime: 2_000 });
      refills++;
      poolAvailable = (await settings()).poolAvailable;
    }
    const events = Math.floor((poolAvailable - THRESHOLD / 2) / 10);
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = next++; i < events; i = next++) {
          const res = await fetch(`${processes[i % processes.length]!.url}/api/v1/usage`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ websiteId: f.websitesA[i % 10]!.id, credits: 10, idempotencyKey: `storm-${round}-${i}` }),
            signal: AbortSignal.timeout(30_000),
          });
          if (res.status !== 200) refused++;
          await res.body?.cancel();
        }
      }),
    );
    // Settled: no top-up in flight for a while (the loops poll every 2 s).
    const until = Date.now() + 30_000;
    let quiet = 0;
    while (Date.now() < until && quiet < 3) {
      await new Promise((r) => setTimeout(r, 1_000)); // the API processes' top-up loops run on their own clock
      quiet = (await pendingTopUps()) === 0 ? quiet + 1 : 0;
    }
  }

  const q = env.database.query;
  const crossings = (await q<{ n: number }>("select count(*)::int as n from alert_outbox where group_id = $1 and type = 'group.credits.low'", [f.groupA.id])).rows[0]!.n;
  const purchases = (await q<{ n: number }>("select count(*)::int as n from purchases where group_id = $1 and idempotency_key like 'auto-top-up:%' and status = 'completed'", [f.groupA.id])).rows[0]!.n;
  const grants = (await q<{ n: number }>("select count(*)::int as n from credit_grants where group_id = $1 and source_key like 'purchase:%'", [f.groupA.id])).rows[0]!.n;
  // The auto top-ups' charges, by their one wording (the manual refills are purchases of their own).
  const charges = env.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId && c.description.endsWith("· auto top-up")).length;
  const succeeded = (await q<{ n: number }>("select count(*)::int as n from alert_outbox where group_id = $1 and type = 'group.auto_top_up.succeeded'", [f.groupA.id])).rows[0]!.n;
  const v = await findInvariantViolations(q);
  report.figure("topup.rounds", ROUNDS);
  report.figure("topup.refills_by_hand_after_limit", refills);
  report.must("topup.events_refused", refused, 0, "every drain fits in the pool");
  report.must("topup.crossings", crossings, ROUNDS, "each round drains the pool below the threshold once");
  report.must("topup.purchases", purchases, Math.min(crossings, MAX_PER_MONTH), "one purchase per crossing, never past maxPerMonth");
  report.figure("topup.purchases_equal_crossings_within_limit", purchases === Math.min(crossings, MAX_PER_MONTH) ? "yes" : "no");
  report.must("topup.charges", charges, purchases, "charges == purchases");
  report.must("topup.grants", grants, charges, "charges == grants");
  report.must("topup.succeeded_alerts", succeeded, purchases);
  report.must("topup.ledger_violations", v.grants.length + v.events.length, 0);
}
