import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/** The parts of an OpenAPI 3.1 document this test reads. */
type Schema = { $ref?: string; example?: unknown; examples?: unknown[] };
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, unknown> };
type Operation = {
  summary?: string;
  requestBody?: { content: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
};
type Document = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };

let server: TestServer;
let doc: Document;

beforeAll(async () => {
  server = await startTestServer();
  const answer = await server.client().get("/api/openapi.json");
  expect(answer.status).toBe(200);
  doc = answer.json as Document;
});
afterAll(() => server?.close());

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/** Every operation of the document as "METHOD path". */
function operations() {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => ({ id: `${method.toUpperCase()} ${path}`, operation })),
  );
}

/** A media type shows an example: its own, or one on its (referenced) schema. */
function hasExample(media: Media): boolean {
  if (media.example !== undefined || (media.examples && Object.keys(media.examples).length > 0)) return true;
  let schema = media.schema;
  if (schema?.$ref) schema = doc.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")];
  return schema !== undefined && (schema.example !== undefined || (Array.isArray(schema.examples) && schema.examples.length > 0));
}

describe("GET /api/openapi.json", () => {
  it("describes the whole API", () => {
    const ids = operations().map((o) => o.id);
    // A sample of each area, so an empty or partial document cannot pass the checks below.
    for (const id of [
      "POST /api/v1/usage",
      "POST /api/v1/usage/batch",
      "GET /api/v1/websites/{websiteId}/balance",
      "GET /api/groups/{groupId}/billing",
      "POST /api/groups/{groupId}/billing/purchases",
      "GET /api/orgs/{orgId}/api-keys",
      "PUT /api/operator/orgs/{externalId}",
      "POST /api/session",
      "GET /auth/handoff",
    ]) {
      expect(ids).toContain(id);
    }
  });

  it("gives every operation a summary", () => {
    const missing = operations()
      .filter(({ operation }) => !operation.summary?.trim())
      .map((o) => o.id);
    expect(missing, "operations without a summary").toEqual([]);
  });

  it("shows an example of every request body and every successful answer with a body", () => {
    const missing: string[] = [];
    for (const { id, operation } of operations()) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        if (!hasExample(media)) missing.push(`${id} request ${type}`);
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (!status.startsWith("2")) continue;
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!hasExample(media)) missing.push(`${id} ${status} ${type}`);
        }
      }
    }
    expect(missing, "request bodies and 2xx answers without an example").toEqual([]);
  });
});
