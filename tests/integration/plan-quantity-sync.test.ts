import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buyThroughCheckout } from "../support/billing.js";
import { createOrgFixture, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { eventually, startTestServer, type TestServer } from "../support/server.js";

/**
 * A network hop between the server and the Stripe emulator that can hold one request (the first
 * that matches) until the test lets it through: Stripe answering one call late, as on a real network.
 */
async function startDelayingProxy() {
  let target = "";
  let hold: { match: (method: string, path: string, form: URLSearchParams) => boolean; held: () => void; release: Promise<void> } | null = null;
  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((ok) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => ok(Buffer.concat(chunks)));
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = req.url ?? "/";
      if (hold?.match(req.method ?? "GET", path, new URLSearchParams(body.toString()))) {
        const { held, release } = hold;
        hold = null;
        held();
        await release;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "content-length", "connection"].includes(k)).map(([k, v]) => [k, String(v)]));
      const answer = await fetch(`${target}${path}`, { method: req.method, headers, ...(body.length > 0 ? { body: new Uint8Array(body) } : {}) });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    })();
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    setTarget: (url: string) => void (target = url),
    /** Hold the first request that matches; resolves once it is held, with the function that lets it go. */
    holdFirst(match: (method: string, path: string, form: URLSearchParams) => boolean) {
      let release!: () => void;
      const released = new Promise<void>((ok) => (release = ok));
      return new Promise<() => void>((held) => {
        hold = { match, held: () => held(release), release: released };
      });
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

// syncPlanQuantity re-reads the plan after each update it sends to Stripe and sends again when
// another raise changed it meanwhile: the last update to reach Stripe is always followed by that check.
describe("a plan raise whose quantity update reaches Stripe late", () => {
  let server: TestServer;
  let proxy: Awaited<ReturnType<typeof startDelayingProxy>>;
  beforeAll(async () => {
    proxy = await startDelayingProxy();
    server = await startTestServer({ STRIPE_API_BASE: proxy.url });
    proxy.setTarget(server.stripe.url);
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

  it("is followed by the current quantity: Stripe ends at the packages granted, not at the late update's", async () => {
    const f = await createOrgFixture(server.db);
    const admin = await server.client().login(f.orgAdmin, TEST_PASSWORD);
    const groupId = f.groupA.id;
    expect((await admin.post(`/api/groups/${groupId}/billing/enable`)).status).toBe(200);
    await buyThroughCheckout(server, admin, groupId, "monthly", 2);
    const { rows } = await server.deps.database.query<{ s: string }>("select stripe_subscription_id as s from plans where group_id = $1", [groupId]);
    const subscriptionId = rows[0]!.s;

    // Raise A (2 -> 5): the first update to 5 packages (its own sync's, or its invoice webhook's) is held on the way to Stripe.
    const held = proxy.holdFirst((method, path, form) => method === "POST" && path === `/v1/subscriptions/${subscriptionId}` && form.get("items[0][quantity]") === "5");
    const raiseA = admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 3 });
    const release = await held;
    // Raise B (5 -> 8) meanwhile, start to end: Stripe has 8, the plan is synced at 8.
    const raiseB = await admin.post(`/api/groups/${groupId}/billing/purchases`, { type: "monthly", quantity: 3 });
    expect(raiseB.status).toBe(200);
    await eventually(async () => (await server.deps.database.query<{ s: boolean }>("select quantity_synced as s from plans where group_id = $1", [groupId])).rows[0]!.s);
    // Now the late update reaches Stripe and sets 5; the re-check must send 8 again.
    release();
    expect((await raiseA).status).toBe(200);

    const stripeQuantity = async () =>
      ((await (await fetch(`${server.stripe.url}/v1/subscriptions/${subscriptionId}`, { headers: { authorization: "Bearer sk_test_x" } })).json()) as { items: { data: { quantity: number }[] } }).items.data[0]!.quantity;
    await eventually(async () => {
      const plan = (await server.deps.database.query<{ quantity: number; s: boolean }>("select quantity, quantity_synced as s from plans where group_id = $1", [groupId])).rows[0]!;
      return plan.s && plan.quantity === 8 && (await stripeQuantity()) === 8;
    }, 15_000);
    const { rows: granted } = await server.deps.database.query<{ n: number }>(
      "select sum(g.packages)::int as n from credit_grants g join plans p on p.group_id = g.group_id where g.group_id = $1 and g.kind = 'monthly' and g.period_start = p.current_period_start",
      [groupId],
    );
    expect(granted[0]!.n).toBe(8);
    await expectLedgerConsistent(server.deps.database);
  });
});
