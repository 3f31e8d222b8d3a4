import fc from "fast-check";

/**
 * Generated malformed requests for every endpoint of the API. Every request carries at least one
 * defect (a bad body, a bad id, a bad header or bad credentials), so none of them may change data,
 * and none may be answered with a 5xx.
 */

export interface HostileTarget {
  orgId: string;
  /** A group with billing enabled (so even a well-formed enable is a no-op). */
  groupId: string;
  websiteId: string;
  purchaseId: string;
  /** `gb_session=...` of an org admin. */
  sessionCookie: string;
  apiKey: string;
}

export interface HostileRequest {
  endpoint: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const RAW = "__raw__:";
/** A JSON token that JSON.stringify cannot produce (1e400, -0, ...). */
const raw = (token: string) => `${RAW}${token}`;
const toJson = (value: unknown) => JSON.stringify(value).replace(new RegExp(`"${RAW}([^"]*)"`, "g"), "$1");

const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
const longString = fc.integer({ min: 256, max: 20_000 }).map((n) => "x".repeat(n));
const nulString = fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`);
/** Not well-formed UTF-16: a lone high or low surrogate, or a reversed pair, anywhere in the text. */
const illFormedString = fc
  .tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\udc00\ud800"), fc.string({ maxLength: 10 }))
  .map(([a, bad, b]) => `${a}${bad}${b}`);
const wrongShape = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { minKeys: 1, maxKeys: 3 }),
);
const anyNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

/** Not an integer in 1..max: zero, negative, fractional, huge, strings, other types, raw tokens. */
const badCount = (max: number) =>
  fc.oneof(
    fc.constantFrom(0, -1, -0.5, 0.5, 1.5, max + 1, 2 ** 53, 2 ** 53 + 2, 1e20, -1e20, Number.MAX_VALUE, Number.MIN_VALUE),
    fc.integer({ max: 0 }),
    fc.integer({ min: max + 1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || d < 1 || d > max),
    fc.constantFrom(raw("1e400"), raw("-1e400"), raw("1e-400"), raw("-0"), raw("123456789012345678901234567890")),
    fc.oneof(fc.constant("1"), fc.constant(""), fc.string({ maxLength: 12 }), anyNumber.map(String)),
    wrongShape,
  );
/** Not a string of 1..max characters of well-formed text without NUL. */
const badText = (max: number) => fc.oneof(fc.constant(""), fc.integer({ min: max + 1, max: max + 5000 }).map((n) => "k".repeat(n)), nulString, illFormedString, anyNumber, wrongShape);
const badUuidValue = fc.oneof(
  fc.constantFrom("", "not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", "{}", "' or 1=1 --"),
  fc.uuid().map((u) => `${u}x`),
  fc.uuid().map((u) => `${u}\u0000`),
  fc.uuid().map((u) => `${u.slice(0, -1)}\ud800`),
  longString,
  anyNumber,
  wrongShape,
);
const badDate = fc.oneof(
  fc.constantFrom("", "tomorrow", "2000-01-01T00:00:00Z", "2099-13-01T00:00:00Z", "2099-02-30T00:00:00Z", "2099-01-01T24:00:00Z", "2099-01-01", "1970-01-01T00:00:00.000Z"),
  fc.date({ max: new Date(Date.now() - 86400_000), noInvalidDate: true }).map((d) => d.toISOString()),
  anyNumber,
  wrongShape,
);
const badIdempotencyKey = badText(255);

/** A path segment that is not a usable id: malformed, encoded junk, or a well-formed id nobody has. */
const badIdSegment = fc.oneof(
  fc.constantFrom("not-a-uuid", "0", "-1", "%00", "..%2F..%2Fetc%2Fpasswd", "%E0%A4%A", "%27%20or%201%3D1--", "null", "%20", "00000000-0000-0000-0000-000000000000"),
  fc.uuid(),
  fc.string({ minLength: 1, maxLength: 60 }).map((s) => {
    try {
      return encodeURIComponent(s) || "x";
    } catch {
      return "x";
    }
  }),
  fc.integer({ min: 100, max: 6000 }).map((n) => "a".repeat(n)),
);

/** Bodies that are not a JSON object at all. */
const notAnObjectBody = fc.oneof(
  fc.constantFrom("", "{", "}", "{bad", "[", "null", "true", "0", "\"text\"", "[]", "[{}]", "{\"a\":}", "{'a':1}", "\u0000", "{}}", "{\"__proto__\":{\"x\":1}"),
  fc.string({ maxLength: 80 }).filter((s) => {
    try {
      const v: unknown = JSON.parse(s);
      return typeof v !== "object" || v === null || Array.isArray(v);
    } catch {
      return true;
    }
  }),
  fc.array(fc.integer(), { maxLength: 5 }).map((a) => JSON.stringify(a)),
);

type Fields = Record<string, unknown>;

/** A valid object with exactly one defect (a bad field, a missing required field, an unknown field), as JSON text. */
function brokenObject(valid: Fields, bad: Record<string, fc.Arbitrary<unknown>>, required: string[]) {
  const known = new Set(Object.keys(bad));
  return fc.oneof(
    fc.constantFrom(...Object.keys(bad)).chain((field) => bad[field]!.map((value) => toJson({ ...valid, [field]: value }))),
    fc.constantFrom(...required).map((field) => {
      const copy = { ...valid };
      delete copy[field];
      return toJson(copy);
    }),
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !known.has(k)), fc.oneof(anyNumber, fc.string({ maxLength: 10 }), wrongShape))
      .map(([k, v]) => {
        // An own property even for "__proto__" (JSON.parse makes it one, too).
        const o: Fields = { ...valid };
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        return toJson(o);
      }),
    notAnObjectBody,
    fc.constant(toJson(valid)).chain((text) => fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((n) => text.slice(0, n))),
  );
}

const usageFields = (t: HostileTarget) => ({ websiteId: t.websiteId, credits: 1, idempotencyKey: "hostile" });
const badUsage = (t: HostileTarget) =>
  brokenObject(usageFields(t), { websiteId: badUuidValue, credits: badCount(1_000_000_000), idempotencyKey: badIdempotencyKey }, ["websiteId", "credits", "idempotencyKey"]);
const badGrant = () =>
  brokenObject({ credits: 1, idempotencyKey: "hostile", expiresAt: "2099-01-01T00:00:00Z" }, { credits: badCount(1_000_000_000), idempotencyKey: badIdempotencyKey, expiresAt: badDate }, ["credits", "idempotencyKey"]);
const badBatch = (t: HostileTarget) =>
  fc.oneof(
    brokenObject({ events: [usageFields(t)] }, { events: fc.oneof(fc.constant([]), wrongShape.filter((v) => !Array.isArray(v) || v.length > 0 && typeof v[0] !== "object"), fc.string()) }, ["events"]),
    // One broken event among neighbours (of a website nobody has, so they change nothing): a 200 whose results are all refusals.
    fc.tuple(badUsage(t), fc.integer({ min: 0, max: 5 })).map(([broken, at]) => {
      const events = Array.from({ length: 6 }, (_, i) => (i === at ? "__BROKEN__" : { ...usageFields(t), websiteId: "00000000-0000-4000-8000-000000000000", idempotencyKey: `hostile-${i}` }));
      return JSON.stringify({ events }).replace('"__BROKEN__"', () => broken === "" ? "null" : (() => {
        try {
          JSON.parse(broken);
          return broken;
        } catch {
          return "{}";
        }
      })());
    }),
    fc.constant(JSON.stringify({ events: Array.from({ length: 1001 }, (_, i) => ({ ...usageFields(t), idempotencyKey: `hostile-many-${i}` })) })),
  );
const badPurchase = brokenObject({ type: "one_time", quantity: 1 }, { type: fc.oneof(fc.constantFrom("", "ONE_TIME", "monthly ", "yearly", "one-time"), badText(20)), quantity: badCount(50) }, ["type", "quantity"]);
const badApiKeyName = brokenObject({ name: "hostile" }, { name: fc.oneof(fc.constantFrom("", "   ", "\t\n"), badText(200)) }, ["name"]);
const badLogin = brokenObject({ email: "hostile@test.example", password: "hostile" }, { email: badText(254), password: badText(1024) }, ["email", "password"]);

const garbageCookie = fc.oneof(
  fc.constantFrom("gb_session=", "gb_session=%E0%A4%A", "gb_session=gbs_forged", "gb_session=\"\"", "gb_session=a; gb_session=b", "=;;=;", "gb_session"),
  printable(200).map((s) => `gb_session=${s}`),
);
const garbageAuthorization = fc.oneof(
  fc.constantFrom("Bearer", "Bearer ", "Bearer gbk_forged", "Basic dXNlcjpwYXNz", "bearer x", "Bearer  ", "Token abc"),
  printable(300).map((s) => `Bearer ${s}`),
  printable(100),
);

const json = { "content-type": "application/json" };

/** Every endpoint, with the ways its requests are broken. */
export function hostileRequest(t: HostileTarget): fc.Arbitrary<HostileRequest> {
  const session = { cookie: t.sessionCookie };
  const bearer = { authorization: `Bearer ${t.apiKey}` };
  const req = (endpoint: string, method: string, path: string, headers: Record<string, string>, body?: string): HostileRequest => ({ endpoint, method, path, headers, ...(body === undefined ? {} : { body }) });

  /** A cookie endpoint: bad path id, bad body, no JSON content type, another origin, or a forged session. */
  const cookieMutation = (endpoint: string, pathOf: (id: string) => string, goodId: string, badBody: fc.Arbitrary<string> | null, validBody: string) =>
    fc.oneof(
      badIdSegment.map((id) => req(endpoint, "POST", pathOf(id), { ...session, ...json }, validBody)),
      ...(badBody ? [badBody.map((b) => req(endpoint, "POST", pathOf(goodId), { ...session, ...json }, b))] : []),
      fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "").map((ct) =>
        req(endpoint, "POST", pathOf(goodId), { ...session, ...(ct ? { "content-type": ct } : {}) }, validBody),
      ),
      fc.constantFrom("https://evil.example", "null", "http://localhost.evil.example", "file://").map((origin) =>
        req(endpoint, "POST", pathOf(goodId), { ...session, ...json, origin }, validBody),
      ),
      garbageCookie.map((cookie) => req(endpoint, "POST", pathOf(goodId), { cookie, ...json }, validBody)),
    );
  const cookieGet = (endpoint: string, pathOf: (id: string) => string, goodId: string) =>
    fc.oneof(
      badIdSegment.map((id) => req(endpoint, "GET", pathOf(id), session)),
      garbageCookie.map((cookie) => req(endpoint, "GET", pathOf(goodId), { cookie })),
    );
  const apiCall = (endpoint: string, method: string, pathOf: (id: string) => string, badBody: fc.Arbitrary<string> | null, validBody: string | undefined) =>
    fc.oneof(
      badIdSegment.map((id) => req(endpoint, method, pathOf(id), { ...bearer, ...json }, validBody)),
      ...(badBody ? [badBody.map((b) => req(endpoint, method, pathOf(t.websiteId), { ...bearer, ...json }, b))] : []),
      garbageAuthorization.map((authorization) => req(endpoint, method, pathOf(t.websiteId), { authorization, ...json }, validBody)),
      ...(validBody !== undefined
        ? [fc.constantFrom("text/plain", "", "application/xml").map((ct) => req(endpoint, method, pathOf(t.websiteId), { ...bearer, ...(ct ? { "content-type": ct } : {}) }, validBody))]
        : []),
    );
  const usageBody = JSON.stringify(usageFields(t));

  const endpoints: fc.Arbitrary<HostileRequest>[] = [
    badLogin.map((b) => req("POST /api/session", "POST", "/api/session", json, b)),
    garbageCookie.map((cookie) => req("GET /api/session", "GET", "/api/session", { cookie })),
    garbageCookie.map((cookie) => req("DELETE /api/session", "DELETE", "/api/session", { cookie })),
    garbageCookie.map((cookie) => req("GET /api/orgs", "GET", "/api/orgs", { cookie })),
    cookieGet("GET /api/orgs/{orgId}/groups", (id) => `/api/orgs/${id}/groups`, t.orgId),
    cookieMutation("POST /api/orgs/{orgId}/api-keys", (id) => `/api/orgs/${id}/api-keys`, t.orgId, badApiKeyName, JSON.stringify({ name: "hostile" })),
    cookieGet("GET /api/groups/{groupId}", (id) => `/api/groups/${id}`, t.groupId),
    cookieGet("GET /api/groups/{groupId}/billing", (id) => `/api/groups/${id}/billing`, t.groupId),
    cookieMutation("POST /api/groups/{groupId}/billing/enable", (id) => `/api/groups/${id}/billing/enable`, t.groupId, null, "{}"),
    fc.oneof(
      cookieMutation("POST /api/groups/{groupId}/billing/purchases", (id) => `/api/groups/${id}/billing/purchases`, t.groupId, badPurchase, JSON.stringify({ type: "one_time", quantity: 1 })),
      fc.oneof(fc.constant(""), fc.integer({ min: 256, max: 4000 }).map((n) => "i".repeat(n))).map((key) =>
        req("POST /api/groups/{groupId}/billing/purchases", "POST", `/api/groups/${t.groupId}/billing/purchases`, { ...session, ...json, "idempotency-key": key }, JSON.stringify({ type: "one_time", quantity: 1 })),
      ),
    ),
    fc.oneof(
      cookieGet("GET /api/groups/{groupId}/billing/purchases/{purchaseId}", (id) => `/api/groups/${t.groupId}/billing/purchases/${id}`, t.purchaseId),
      badIdSegment.map((id) => req("GET /api/groups/{groupId}/billing/purchases/{purchaseId}", "GET", `/api/groups/${id}/billing/purchases/${t.purchaseId}`, session)),
    ),
    fc.oneof(
      cookieGet("GET /api/groups/{groupId}/billing/invoices", (id) => `/api/groups/${id}/billing/invoices`, t.groupId),
      fc
        .oneof(
          fc.constantFrom("month=", "month=2024-13", "month=2024-00", "month=24-01", "month=2024-1", "month=2024-01&month=2024-02", "month[]=2024-01", "foo=1", "month=%00", "month=2024-01%00"),
          printable(60).map((s) => `month=${encodeURIComponent(s)}`).filter((q) => !/^month=\d{4}-(0[1-9]|1[0-2])$/.test(q)),
        )
        .map((q) => req("GET /api/groups/{groupId}/billing/invoices", "GET", `/api/groups/${t.groupId}/billing/invoices?${q}`, session)),
    ),
    apiCall("POST /api/v1/usage", "POST", () => "/api/v1/usage", badUsage(t), usageBody).filter((r) => !(r.body === usageBody && r.headers.authorization === bearer.authorization && r.headers["content-type"] === "application/json")),
    apiCall("POST /api/v1/usage/batch", "POST", () => "/api/v1/usage/batch", badBatch(t), JSON.stringify({ events: [usageFields(t)] })).filter((r) => r.path.endsWith("batch") && !(r.headers.authorization === bearer.authorization && r.headers["content-type"] === "application/json" && r.body === JSON.stringify({ events: [usageFields(t)] }))),
    apiCall("POST /api/v1/websites/{websiteId}/grants", "POST", (id) => `/api/v1/websites/${id}/grants`, badGrant(), JSON.stringify({ credits: 1, idempotencyKey: "hostile" })),
    apiCall("GET /api/v1/websites/{websiteId}/balance", "GET", (id) => `/api/v1/websites/${id}/balance`, null, undefined),
    fc
      .tuple(
        fc.oneof(notAnObjectBody, fc.constant(JSON.stringify({ id: "evt_hostile", type: "invoice.paid", data: { object: { id: "in_hostile" } } }))),
        fc.oneof(fc.constant(undefined), fc.constantFrom("", "t=1,v1=deadbeef", "v1=", "t=,v1=", "t=99999999999,v1=00"), printable(120)),
      )
      .map(([body, sig]) => req("POST /api/webhooks/stripe", "POST", "/api/webhooks/stripe", { ...json, ...(sig === undefined ? {} : { "stripe-signature": sig }) }, body)),
    fc
      .tuple(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"), fc.constantFrom("/api/nope", "/api/v1", "/api/v2/usage", "/api/groups", "/api/v1/usage/", "/api/orgs/x/y/z", "/api/v1/websites//balance"))
      .map(([m, p]) => req("unknown endpoint", m, p, { ...session, ...bearer, ...json }, m === "GET" ? undefined : "{}")),
  ];

  const extraHeaders = fc.oneof(
    { weight: 4, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: printable(100).map((v) => ({ "x-request-id": v })) },
    { weight: 1, arbitrary: fc.constantFrom({ "content-length": "0" }, { accept: "text/html" }, { "x-forwarded-for": "1.2.3.4, evil" }, { "accept-encoding": "gzip;q=oops" }) },
  );
  return fc.tuple(fc.oneof(...endpoints), extraHeaders).map(([r, extra]) => {
    const headers = { ...extra, ...r.headers };
    // A body-less request cannot claim a length; fetch sets the real one.
    delete (headers as Record<string, string>)["content-length"];
    return { ...r, headers };
  });
}

export interface HostileOutcome {
  request: HostileRequest;
  status: number | "network-error";
  body: string;
  /** A 4xx, or a batch's 200 in which every event was refused on its own. */
  refused: boolean;
}

function everyItemRefused(text: string) {
  try {
    const results = (JSON.parse(text) as { results?: { status: number }[] }).results;
    return Array.isArray(results) && results.every((r) => r.status >= 400 && r.status < 500);
  } catch {
    return false;
  }
}

export async function sendHostile(base: string, r: HostileRequest): Promise<HostileOutcome> {
  try {
    const res = await fetch(base + r.path, {
      method: r.method,
      headers: r.headers,
      ...(r.body !== undefined && r.method !== "GET" ? { body: r.body } : {}),
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const refused = (res.status >= 400 && res.status < 500) || (res.status === 200 && r.path === "/api/v1/usage/batch" && everyItemRefused(text));
    return { request: r, status: res.status, body: text.slice(0, 300), refused };
  } catch (err) {
    return { request: r, status: "network-error", body: String(err), refused: false };
  }
}

/** Send `requests` with `concurrency` parallel loops; answers in order. */
export async function sendAll(base: string, requests: HostileRequest[], concurrency: number) {
  const out: HostileOutcome[] = new Array<HostileOutcome>(requests.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < requests.length; i = next++) out[i] = await sendHostile(base, requests[i]!);
    }),
  );
  return out;
}

/** Short description of a request for a failure report. */
export const describeRequest = (r: HostileRequest) =>
  `${r.method} ${r.path.slice(0, 120)} headers=${JSON.stringify(r.headers).slice(0, 200)} body=${JSON.stringify((r.body ?? "").slice(0, 200))}`;
