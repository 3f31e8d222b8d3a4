import type { CreditSource, UsageResult } from "../../../contracts/usage.js";

/**
 * A usage event's first answer as the event row keeps it for replays (`usage_events.answer`,
 * migration 0015): what the row's own columns (id, website, credits) do not already say, as one
 * `bigint[]`: the balance (website, group monthly, group one-time), then a (source, credits) pair
 * per part, the source as 1 website, 2 group monthly, 3 group one-time. Measured against the whole
 * answer as `jsonb` (bench/write-cost.ts, docs/performance.md 2026-11-28): the write binds, parses
 * and stores a few numbers instead of ~230 bytes of JSON per event.
 */
export const SOURCE_CODE: Readonly<Record<CreditSource, number>> = { website: 1, group_monthly: 2, group_one_time: 3 };
const SOURCE: readonly (CreditSource | undefined)[] = [undefined, "website", "group_monthly", "group_one_time"];

/** The answer's numbers, as a PostgreSQL array literal (`{…}`) for a `text[]` parameter cast to `bigint[]`. */
export function encodeAnswer(result: UsageResult): string {
  const { balance, parts } = result;
  let text = `{${balance.website},${balance.groupMonthly},${balance.groupOneTime}`;
  for (const p of parts) text += `,${SOURCE_CODE[p.source]},${p.credits}`;
  return `${text}}`;
}

/** The answer again, byte for byte as it was first given (same fields, same order). */
export function decodeAnswer(row: { id: string; website_id: string; credits: number | string }, answer: readonly (number | string)[]): UsageResult {
  const n = answer.map(Number);
  const parts: UsageResult["parts"] = [];
  for (let i = 3; i + 1 < n.length; i += 2) {
    const source = SOURCE[n[i]!];
    if (!source) throw new Error(`usage event ${row.id}: unknown credit source ${n[i]} in its answer`);
    parts.push({ source, credits: n[i + 1]! });
  }
  return {
    id: row.id,
    websiteId: row.website_id,
    credits: Number(row.credits),
    parts,
    balance: { website: n[0]!, groupMonthly: n[1]!, groupOneTime: n[2]! },
  };
}
