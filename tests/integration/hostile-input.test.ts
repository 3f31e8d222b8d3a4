import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRequest, hostileRequest, sendAll, type HostileTarget } from "../chaos/lib/hostile.js";
import { databaseSnapshot, snapshotDiff } from "../chaos/lib/snapshot.js";
import { createApiKeyFor, createOrgFixture, fundGroupPool, TEST_PASSWORD } from "../support/factories.js";
import { expectLedgerConsistent } from "../support/invariant.js";
import { createUsageProcessor } from "../../src/server/modules/credits/usage-processor.js";
import { OPERATOR_KEY, startTestServer, type TestServer } from "../support/server.js";

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

    const failures = outcomes.filter((o) => !o.refused);
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

  /** Text that is not well-formed UTF-16: lone high and low surrogates, a reversed pair. */
  const illFormed = ["\ud800", "\udfff", "key-\udc00-end", "\udc00\ud800"];
  type Schema = { type?: string; format?: string; enum?: string[]; pattern?: string; maxLength?: number; minimum?: number; properties?: Record<string, Schema>; required?: string[]; items?: Schema; $ref?: string; anyOf?: Schema[]; example?: unknown };

  it("answers 400 invalid_request, before the database, for ill-formed or oversized text in every string field of every endpoint in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: { in: string; name: string; schema: Schema }[]; requestBody?: { content: Record<string, { schema: Schema }> }; responses?: Record<string, { content?: Record<string, unknown> }> }>>; components: { schemas: Record<string, Schema> } };
    const resolve = (sch: Schema): Schema => (sch.$ref ? doc.components.schemas[sch.$ref.split("/").pop()!]! : sch);
    const example = (sch: Schema): unknown => {
      const x = resolve(sch);
      // A documented example is a valid body (the operator API's have one each).
      if (x.example !== undefined) return x.example;
      if (x.enum) return x.enum[0];
      if (x.type === "string") return x.format === "uuid" ? crypto.randomUUID() : x.format === "date-time" ? "2099-01-01T00:00:00Z" : "fine";
      if (x.type === "integer" || x.type === "number") return Math.max(1, x.minimum ?? 1);
      if (x.type === "boolean") return true;
      if (x.type === "array") return [example(x.items ?? {})];
      if (x.type === "object") return Object.fromEntries(Object.entries(x.properties ?? {}).map(([k, v]) => [k, example(v)]));
      return "fine";
    };
    const ids: Record<string, string> = { orgId: target.orgId, groupId: target.groupId, websiteId: target.websiteId, purchaseId: target.purchaseId };
    const headers = { cookie: target.sessionCookie, authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" };
    const before = await databaseSnapshot(server.deps.database);
    const problems: string[] = [];
    let fields = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        // Endpoints that answer JSON; the platform's sign-in link (/auth/handoff) answers people with
        // a page, and its refusals are tested in operator.test.ts.
        if (!Object.values(op.responses ?? {}).some((r) => r.content?.["application/json"])) continue;
        const params = op.parameters ?? [];
        const url = (bad?: { name: string; value: string }) => {
          let p = path.replace(/\{(\w+)\}/g, (_, name: string) => (bad?.name === name ? bad.value : (ids[name] ?? crypto.randomUUID())));
          const query = params.filter((q) => q.in === "query").map((q) => `${q.name}=${q.name === bad?.name ? bad.value : ""}`);
          if (bad && query.length) p += `?${query.filter((q) => q.startsWith(`${bad.name}=`)).join("&")}`;
          return p;
        };
        const bodySchema = op.requestBody?.content["application/json"]?.schema;
        const valid = bodySchema ? (example(bodySchema) as Record<string, unknown>) : undefined;
        // The operator API (and website grants) take the operator key: validation is what is tested here.
        const keyed = path.startsWith("/api/operator/") || path.endsWith("/grants") ? { ...headers, authorization: `Bearer ${OPERATOR_KEY}` } : headers;
        const send = (p: string, body: unknown) => fetch(server.url + p, { method: method.toUpperCase(), headers: keyed, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
        const expect400 = async (what: string, res: Response, mentions?: string) => {
          const text = await res.text();
          if (res.status !== 400 || !text.includes('"invalid_request"')) problems.push(`${method.toUpperCase()} ${path} ${what}: ${res.status} ${text.slice(0, 120)}`);
          else if (mentions && !text.includes(mentions)) problems.push(`${method.toUpperCase()} ${path} ${what}: refused for another reason: ${text.slice(0, 160)}`);
        };
        // Path and query text: a lone surrogate can only arrive percent-encoded (as invalid UTF-8).
        for (const q of params.filter((x) => x.in === "path" || x.in === "query")) {
          fields++;
          for (const value of ["%ED%A0%80", "%ED%BF%BF", "x".repeat(3000)]) await expect400(`${q.in} ${q.name}=${value.slice(0, 12)}`, await send(url({ name: q.name, value }), valid));
        }
        // Every string field of the JSON body (the batch's events are checked one by one, below).
        const props = valid && bodySchema ? Object.entries(resolve(bodySchema).properties ?? {}) : [];
        for (const [name, sch] of props) {
          const field = resolve(sch);
          if (field.type !== "string") continue;
          fields++;
          const freeText = !field.enum && !field.format && !field.pattern;
          for (const value of illFormed) await expect400(`${name}=${JSON.stringify(value)}`, await send(url(), { ...valid, [name]: value }), freeText ? "well-formed" : undefined);
          if (field.maxLength) await expect400(`${name} of ${field.maxLength + 1} characters`, await send(url(), { ...valid, [name]: "k".repeat(field.maxLength + 1) }), freeText ? name : undefined);
        }
      }
    }
    expect(problems).toEqual([]);
    // Login (2), API key name, usage (2), grants (2 + path), purchases, path ids and the invoices' month at least.
    expect(fields).toBeGreaterThanOrEqual(15);
    expect(snapshotDiff(before, await databaseSnapshot(server.deps.database))).toEqual([]);
  });

  it("gives a batch event with ill-formed or oversized text its own 400 result and debits its neighbours", async () => {
    const api = server.client({ authorization: `Bearer ${target.apiKey}` });
    const balance = async () => (await api.get(`/api/v1/websites/${target.websiteId}/balance`)).json.available as number;
    const start = await balance();
    const good = (i: number) => ({ websiteId: target.websiteId, credits: 1, idempotencyKey: `neighbour-${crypto.randomUUID()}-${i}` });
    const events = [
      good(0),
      { ...good(1), idempotencyKey: "\ud800" },
      good(2),
      { ...good(3), websiteId: `${target.websiteId.slice(0, -1)}\udfff` },
      { ...good(4), idempotencyKey: "k".repeat(256) },
      { ...good(5), note: "unknown field" },
      "not an event",
      good(7),
    ];
    const r = await api.post("/api/v1/usage/batch", { events });
    expect(r.status).toBe(200);
    expect(r.json.results.map((x: { status: number }) => x.status)).toEqual([200, 400, 200, 400, 400, 400, 400, 200]);
    expect(r.json.results[1].error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("well-formed") });
    expect(await balance()).toBe(start - 3);
    // The replay the issue found: the same ill-formed key again is still a 400, never a 500.
    for (let i = 0; i < 3; i++) expect((await api.post("/api/v1/usage", { ...good(9), idempotencyKey: "\ud800" })).status).toBe(400);
    await expectLedgerConsistent(server.deps.database);
  });

  it("gives a batch event that fails in the database its own 500 result and debits its neighbours (HTTP 200)", async () => {
    // A real database error for one event: a trigger refuses its idempotency key.
    const tag = crypto.randomUUID().slice(0, 8);
    await server.deps.database.query(
      `create function refuse_poison_${tag}() returns trigger language plpgsql as $$
       begin if new.idempotency_key like 'poison-${tag}-%' then raise exception 'poison event'; end if; return new; end $$`,
    );
    await server.deps.database.query(`create trigger refuse_poison_${tag} before insert on usage_events for each row execute function refuse_poison_${tag}()`);
    try {
      const api = server.client({ authorization: `Bearer ${target.apiKey}` });
      const balance = async () => (await api.get(`/api/v1/websites/${target.websiteId}/balance`)).json.available as number;
      const start = await balance();
      const event = (key: string) => ({ websiteId: target.websiteId, credits: 1, idempotencyKey: key });
      const events = [event(`a-${tag}`), event(`poison-${tag}-1`), event(`b-${tag}`), event(`c-${tag}`)];
      const r = await api.post("/api/v1/usage/batch", { events });
      expect(r.status).toBe(200);
      expect(r.json.results.map((x: { status: number }) => x.status)).toEqual([200, 500, 200, 200]);
      expect(r.json.results[1].error.code).toBe("internal_error");
      expect(await balance()).toBe(start - 3);
      // The neighbours' keys are taken (a replay answers their first result), the poison's is not.
      const replay = await api.post("/api/v1/usage/batch", { events: [event(`a-${tag}`)] });
      expect(replay.json.results[0]).toEqual(r.json.results[0]);
      // A batch where every event fails is a failure of the request as a whole.
      const all = await api.post("/api/v1/usage/batch", { events: [event(`poison-${tag}-2`), event(`poison-${tag}-3`)] });
      expect(all.status).toBe(500);
      expect(await balance()).toBe(start - 3);
    } finally {
      await server.deps.database.query(`drop trigger refuse_poison_${tag} on usage_events`);
    }
    await expectLedgerConsistent(server.deps.database);
  });

  it("retries the events of a failing processing lane one by one, so a poison event fails alone", async () => {
    // An event the validation would have refused (NUL cannot be stored), handed straight to the processor.
    const processor = createUsageProcessor({ database: server.deps.database, clock: server.deps.clock });
    const event = (key: string) => ({ orgId: target.orgId, websiteId: target.websiteId, credits: 1, idempotencyKey: key });
    const tag = crypto.randomUUID();
    // The first event occupies the lane, so the next three are processed in one transaction.
    const blocker = processor.submit(event(`blocker-${tag}`));
    const outcomes = await Promise.allSettled([processor.submit(event(`a-${tag}`)), processor.submit(event(`poison-\u0000-${tag}`)), processor.submit(event(`b-${tag}`))]);
    expect((await blocker).status).toBe(200);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value.status : "rejected"))).toEqual([200, "rejected", 200]);
    await expectLedgerConsistent(server.deps.database);
  });
});

