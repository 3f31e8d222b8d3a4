import { expect } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { findInvariantViolations } from "../../src/server/modules/ledger/index.js";

/** Every grant's balance is the sum of its ledger entries; every usage event's debits add up. */
export async function expectLedgerConsistent(database: Database) {
  const v = await findInvariantViolations(database.query);
  expect(v.grants).toEqual([]);
  expect(v.events).toEqual([]);
  const { rows } = await database.query<{ n: number }>("select count(*)::int as n from credit_grants where remaining < 0");
  expect(rows[0]!.n).toBe(0);
}
