import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKeyFor, createOrgFixture, fundGroupPool } from "../support/factories.js";
import { startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const README = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

/** The commands of the README's "Spend credits from your platform" block, one per curl (continuations joined). */
function spendCommands(): string[] {
  const section = /^## Spend credits from your platform\n([\s\S]*?)^## /m.exec(README)?.[1] ?? "";
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("curl "));
}

let server: TestServer;
let apiKey: string;
let websiteId: string;

beforeAll(async () => {
  server = await startTestServer();
  const fixture = await createOrgFixture(server.db);
  await fundGroupPool(server.deps.database, fixture.groupA.id, { monthly: 1_000, oneTime: 500 });
  apiKey = await createApiKeyFor(server.deps.database, fixture.org.id);
  websiteId = fixture.websitesA[0]!.id;
});
afterAll(() => server?.close());

describe("README: Spend credits from your platform", () => {
  it("has a debit, a batch and a balance, and each works as written with a key and a website id filled in", async () => {
    const commands = spendCommands();
    const paths = commands.map((c) => /curl (\S+)/.exec(c.replaceAll("<website id>", "{websiteId}"))?.[1]?.replace(/^http:\/\/localhost:3000/, ""));
    expect(paths).toEqual(["/api/v1/usage", "/api/v1/usage/batch", "/api/v1/websites/{websiteId}/balance"]);
    const answers = [];
    for (const command of commands) {
      const script = command
        .replaceAll("http://localhost:3000", server.url)
        .replaceAll("<website id>", websiteId)
        .replace(/^curl /, `curl -sS -w '\\n%{http_code}' `);
      const { stdout } = await run("bash", ["-c", script], { env: { ...process.env, API_KEY: apiKey }, timeout: 30_000 });
      const [body = "", status = ""] = [stdout.slice(0, stdout.lastIndexOf("\n")), stdout.slice(stdout.lastIndexOf("\n") + 1)];
      expect(status, `${command}\n${body}`).toBe("200");
      answers.push(JSON.parse(body) as Record<string, unknown>);
    }
    const [debit, batch, balance] = answers as [{ credits: number }, { results: { status: number }[] }, { available: number }];
    expect(debit.credits).toBe(25);
    expect(batch.results.map((r) => r.status)).toEqual([200]);
    expect(balance.available).toBe(1_500 - 25 - 5);
  });
});
