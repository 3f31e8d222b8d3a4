import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SERVER = join(import.meta.dirname, "..", "..");
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });

describe("ledger ownership (docs/decisions/0004)", () => {
  it("only modules/ledger writes credit_grants and ledger_entries", () => {
    const writes = /(insert\s+into|update|delete\s+from)\s+(credit_grants|ledger_entries)\b/i;
    const writers = files(SERVER)
      .filter((f) => writes.test(readFileSync(f, "utf8")))
      .map((f) => relative(SERVER, f));
    expect(writers.filter((f) => !f.startsWith("modules/ledger/") && !f.startsWith("db/migrations/"))).toEqual([]);
    expect(writers.length).toBeGreaterThan(0);
  });

  it("no module imports http/", () => {
    const offenders = files(join(SERVER, "modules")).filter((f) => /from "(\.\.\/)+http\//.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
  });
});
