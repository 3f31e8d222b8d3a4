import { findInvariantViolations } from "../../src/server/modules/ledger/index.js";
import type { ServerProcess } from "../support/process.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { Http, payCheckout, rng, type ChaosEnv, type Report } from "./lib/env.js";

const stripeGet = async (env: ChaosEnv, path: string) =>
  (await (await fetch(`${env.stripe.url}${path}`, { headers: { authorization: "Bearer sk_test_chaos" } })).json()) as Record<string, any>;
const PRICE = { one_time: 1000, monthly: 800 } as const;

/** An admin signed in once, with a client on each API process (the session is in the shared database). */
async function adminsOf(env: ChaosEnv, processes: ServerProcess[], partnerManaged: boolean) {
  const f = await createOrgFixture(env.database.db, { websites: 1, partnerManaged });
  const first = await new Http(processes[0]!.url).login(f.orgAdmin, TEST_PASSWORD);
  const admins = processes.map((p) => Object.assign(new Http(p.url), { cookie: first.cookie }));
  if ((await first.post(`/api/groups/${f.groupA.id}/billing/enable`)).status !== 200) throw new Error("enable billing failed");
  return { f, admins, groupId: f.groupA.id };
}

async function until(check: () => Promise<boolean>, timeoutMs: number) {
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    if (await check()) return true;
    await new Promise((ok) => setTimeout(ok, 500));
  }
  return false;
}

const count = async (env: ChaosEnv, sql: string, params: unknown[]) => Number((await env.database.query<{ n: number }>(sql, params)).rows[0]!.n);

/** Packages granted for the plan's current period (every monthly grant of that period). */
const grantedForPeriod = (env: ChaosEnv, groupId: string) =>
  count(
    env,
    "select coalesce(sum(g.packages), 0)::int as n from credit_grants g join plans p on p.group_id = g.group_id where g.group_id = $1 and g.kind = 'monthly' and g.period_start = p.current_period_start",
    [groupId],
  );

/**
 * 10. Raise storm: many monthly purchases at once on one plan, spread over both API processes, with
 * distinct idempotency keys; a Stripe plan (each raise an invoice charged now plus a quantity update)
 * and a partner plan (each raise a partner charge). Once everything settled: Stripe bills (the
 * subscription's quantity) exactly the packages granted for the period, and there is one paid
 * charge per grant, for the same money.
 */
export async function raiseStorm(env: ChaosEnv, report: Report, processes: ServerProcess[], raises = Number(process.env.CHAOS_RAISES ?? 40)) {
  const random = rng(10);
  env.stripe.setWebhookUrl(`${processes[0]!.url}/api/webhooks/stripe`);
  try {
    // Stripe plan.
    const std = await adminsOf(env, processes, false);
    const first = await std.admins[0]!.post(`/api/groups/${std.groupId}/billing/purchases`, { type: "monthly", quantity: 2 });
    await payCheckout(first.json.url);
    if (!(await until(async () => (await std.admins[0]!.get(`/api/groups/${std.groupId}/billing/purchases/${first.json.purchaseId}`)).json.status === "completed", 60_000))) {
      throw new Error("the first plan was not confirmed");
    }
    const quantities = Array.from({ length: raises }, () => 1 + Math.floor(random() * 3));
    const t = Date.now();
    const answers = await Promise.all(quantities.map((quantity, i) => std.admins[i % std.admins.length]!.post(`/api/groups/${std.groupId}/billing/purchases`, { type: "monthly", quantity }, { "idempotency-key": `storm-${i}` })));
    report.figure("raise_storm.stripe.raises", raises);
    report.figure("raise_storm.stripe.answer_ms", Date.now() - t);
    report.figure("raise_storm.stripe.answers_200", answers.filter((a) => a.status === 200).length);
    report.figure("raise_storm.stripe.answers_202", answers.filter((a) => a.status === 202).length);
    report.must("raise_storm.stripe.answers_other", answers.filter((a) => a.status !== 200 && a.status !== 202).length, 0);
    // Pending raises and lagging quantities are finished by the processes' settling loops.
    const settled = await until(
      async () =>
        (await count(env, "select count(*)::int as n from purchases where group_id = $1 and status = 'pending'", [std.groupId])) === 0 &&
        (await count(env, "select count(*)::int as n from plans where group_id = $1 and not quantity_synced", [std.groupId])) === 0,
      120_000,
    );
    report.must("raise_storm.stripe.settled", settled ? 1 : 0, 1, "every raise settled and the plan synced within 2 minutes");
    const { rows } = await env.database.query<{ s: string; quantity: number }>("select stripe_subscription_id as s, quantity from plans where group_id = $1", [std.groupId]);
    const sub = await stripeGet(env, `/v1/subscriptions/${rows[0]!.s}`);
    const billed = Number(sub.items.data[0].quantity);
    const granted = await grantedForPeriod(env, std.groupId);
    report.figure("raise_storm.stripe.billed_packages", billed);
    report.figure("raise_storm.stripe.granted_packages", granted);
    report.figure("raise_storm.stripe.plan_packages", rows[0]!.quantity);
    report.must("raise_storm.stripe.billed_equals_granted", billed === granted && granted === rows[0]!.quantity ? 1 : 0, 1, `billed ${billed}, granted ${granted}`);
    const completed = await env.database.query<{ n: number; amount: number }>(
      "select count(*)::int as n, coalesce(sum(amount), 0)::bigint as amount from purchases where group_id = $1 and raises_plan and status = 'completed'",
      [std.groupId],
    );
    const customer = (await env.database.query<{ c: string }>("select stripe_customer_id as c from billing_profiles where group_id = $1", [std.groupId])).rows[0]!.c;
    const paid = ((await stripeGet(env, `/v1/invoices?customer=${customer}&status=paid&limit=100`)).data as { subscription: string | null; billing_reason: string; amount_paid: number; metadata: Record<string, string> }[]).filter(
      (i) => i.metadata?.purchaseId,
    );
    const raiseGrants = await count(env, "select count(*)::int as n from credit_grants g join purchases p on p.id = g.purchase_id where p.group_id = $1 and p.raises_plan", [std.groupId]);
    report.figure("raise_storm.stripe.charges", paid.length);
    report.figure("raise_storm.stripe.grants", raiseGrants);
    report.must("raise_storm.stripe.charges_equal_grants", paid.length === raiseGrants && raiseGrants === Number(completed.rows[0]!.n) ? 1 : 0, 1, `${paid.length} paid raise invoices, ${raiseGrants} raise grants`);
    report.must("raise_storm.stripe.charged_minus_sold", paid.reduce((s, i) => s + i.amount_paid, 0) - Number(completed.rows[0]!.amount), 0);
    report.must(
      "raise_storm.stripe.granted_minus_sold_packages",
      granted - 2 - quantities.reduce((s, q, i) => s + (answers[i]!.status === 200 || answers[i]!.status === 202 ? q : 0), 0),
      0,
      "every accepted raise is in the period's grants",
    );

    // Partner plan.
    const partner = await adminsOf(env, processes, true);
    if ((await partner.admins[0]!.post(`/api/groups/${partner.groupId}/billing/purchases`, { type: "monthly", quantity: 2 })).status !== 200) throw new Error("partner plan failed");
    const pAnswers = await Promise.all(quantities.map((quantity, i) => partner.admins[i % partner.admins.length]!.post(`/api/groups/${partner.groupId}/billing/purchases`, { type: "monthly", quantity }, { "idempotency-key": `storm-${i}` })));
    report.must("raise_storm.partner.answers_not_200", pAnswers.filter((a) => a.status !== 200).length, 0);
    const accountId = partner.f.org.partnerAccountId;
    const charges = env.partner.charges().filter((c) => c.accountId === accountId);
    const grants = await env.database.query<{ n: number; packages: number }>("select count(*)::int as n, coalesce(sum(packages), 0)::int as packages from credit_grants where group_id = $1", [partner.groupId]);
    const planPackages = await count(env, "select quantity as n from plans where group_id = $1", [partner.groupId]);
    report.figure("raise_storm.partner.charges", charges.length);
    report.figure("raise_storm.partner.grants", grants.rows[0]!.n);
    report.must("raise_storm.partner.charges_equal_grants", charges.length - grants.rows[0]!.n, 0);
    report.figure("raise_storm.partner.billed_packages", charges.reduce((s, c) => s + c.amount, 0) / PRICE.monthly);
    report.figure("raise_storm.partner.granted_packages", grants.rows[0]!.packages);
    report.must("raise_storm.partner.billed_equals_granted", charges.reduce((s, c) => s + c.amount, 0) === grants.rows[0]!.packages * PRICE.monthly && planPackages === grants.rows[0]!.packages ? 1 : 0, 1);
  } finally {
    env.stripe.setWebhookUrl(null);
  }
  const v = await findInvariantViolations(env.database.query);
  report.must("raise_storm.ledger_violations", v.grants.length + v.events.length, 0);
}

/**
 * 11. Slow partner: the partner takes each charge at once but answers after longer than our
 * timeout (the emulator's `delay` fault). Purchases (one-time and monthly) answer 202 pending and
 * are retried with their Idempotency-Key while it lasts; then a renewal falls due under the same
 * delay. Once the processes' settling loops have looked the charges up: one charge per grant, and
 * the money charged is exactly the packages granted at their prices.
 */
export async function slowPartner(env: ChaosEnv, report: Report, processes: ServerProcess[], purchases = Number(process.env.CHAOS_SLOW_PURCHASES ?? 8)) {
  const { f, admins, groupId } = await adminsOf(env, processes, true);
  const delayMs = Number(process.env.CHAOS_PARTNER_DELAY_MS ?? 5_000);
  report.figure("slow_partner.delay_ms", delayMs);
  env.partner.setFault("delay", { delayMs });
  let retries = 0;
  const statuses: number[] = [];
  try {
    // The plan first (it must exist before monthly purchases raise it), then the rest at once, each retried twice.
    const buy = async (i: number) => {
      const type = i % 2 === 0 ? "monthly" : "one_time";
      const body = { type, quantity: 1 + (i % 3) };
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) retries++;
        const r = await admins[(i + attempt) % admins.length]!.post(`/api/groups/${groupId}/billing/purchases`, body, { "idempotency-key": `slow-${i}` });
        statuses.push(r.status);
      }
    };
    await buy(0);
    const planStarted = await until(async () => (await count(env, "select count(*)::int as n from plans where group_id = $1", [groupId])) === 1, 60_000);
    report.must("slow_partner.plan_settled", planStarted ? 1 : 0, 1, "the first plan's late charge was looked up and granted");
    await Promise.all(Array.from({ length: purchases - 1 }, (_, i) => buy(i + 1)));
    report.figure("slow_partner.purchases", purchases);
    report.figure("slow_partner.retries", retries);
    report.figure("slow_partner.answers_202", statuses.filter((s) => s === 202).length);
    report.figure("slow_partner.answers_200", statuses.filter((s) => s === 200).length);
    report.must("slow_partner.answers_other", statuses.filter((s) => s !== 200 && s !== 202).length, 0, "a late answer is pending, never a failure");
    const settled = await until(async () => (await count(env, "select count(*)::int as n from purchases where group_id = $1 and status = 'pending'", [groupId])) === 0, 90_000);
    report.must("slow_partner.purchases_settled", settled ? 1 : 0, 1);

    // A renewal falls due while the partner is still slow: the plan's period (and its grant) end now.
    const periods = await count(env, "select count(distinct period_start)::int as n from credit_grants where group_id = $1 and kind = 'monthly'", [groupId]);
    // (Milliseconds, as every period the product writes: a period end is also the renewal's key.)
    await env.database.query(
      `with p as (update plans set current_period_end = $2 where group_id = $1 returning current_period_start)
       update credit_grants set expires_at = $2 where group_id = $1 and kind = 'monthly' and period_start = (select current_period_start from p)`,
      [groupId, new Date(Date.now() - 1000)],
    );
    const renewed = await until(
      async () =>
        (await count(env, "select count(distinct period_start)::int as n from credit_grants where group_id = $1 and kind = 'monthly'", [groupId])) > periods &&
        (await count(env, "select count(*)::int as n from plans where group_id = $1 and status = 'active' and renewal_claimed_at is null and current_period_end > now()", [groupId])) === 1,
      120_000,
    );
    report.must("slow_partner.renewal_settled", renewed ? 1 : 0, 1, "the renewal charged under the delay was granted once");
  } finally {
    env.partner.setFault("none");
  }
  const charges = env.partner.charges().filter((c) => c.accountId === f.org.partnerAccountId);
  const { rows: grants } = await env.database.query<{ kind: "monthly" | "one_time"; n: number; packages: number }>(
    "select kind, count(*)::int as n, coalesce(sum(packages), 0)::int as packages from credit_grants where group_id = $1 group by kind",
    [groupId],
  );
  const grantCount = grants.reduce((s, g) => s + g.n, 0);
  const grantedMoney = grants.reduce((s, g) => s + g.packages * PRICE[g.kind], 0);
  const invoiceLines = await count(env, "select count(*)::int as n from invoices where group_id = $1", [groupId]);
  report.figure("slow_partner.charges", charges.length);
  report.figure("slow_partner.grants", grantCount);
  report.figure("slow_partner.invoice_lines", invoiceLines);
  report.must("slow_partner.charges_equal_grants", charges.length - grantCount, 0, "one charge per grant, none twice");
  report.must("slow_partner.invoice_lines_equal_charges", invoiceLines - charges.length, 0);
  report.figure("slow_partner.billed", charges.reduce((s, c) => s + c.amount, 0));
  report.figure("slow_partner.granted_at_price", grantedMoney);
  report.must("slow_partner.billed_equals_granted", charges.reduce((s, c) => s + c.amount, 0) - grantedMoney, 0);
  const v = await findInvariantViolations(env.database.query);
  report.must("slow_partner.ledger_violations", v.grants.length + v.events.length, 0);
}
