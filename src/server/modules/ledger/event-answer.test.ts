import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UsageResult } from "../../../contracts/usage.js";
import { decodeAnswer, encodeAnswer } from "./event-answer.js";

const credits = fc.integer({ min: 0, max: 2 ** 53 - 1 });
const result: fc.Arbitrary<UsageResult> = fc.record({
  id: fc.uuid(),
  websiteId: fc.uuid(),
  credits: fc.integer({ min: 1, max: 1_000_000_000 }),
  parts: fc.array(fc.record({ source: fc.constantFrom("website", "group_monthly", "group_one_time"), credits: fc.integer({ min: 1, max: 1_000_000_000 }) }), { maxLength: 12 }),
  balance: fc.record({ website: credits, groupMonthly: credits, groupOneTime: credits }),
});

/** The literal as PostgreSQL's bigint[] input reads it (the numbers between the braces). */
const parse = (literal: string) => (literal === "{}" ? [] : literal.slice(1, -1).split(",").map(Number));

describe("a usage event's answer kept for replays", () => {
  it("gives back the first answer byte for byte, parts in their order", () => {
    fc.assert(
      fc.property(result, (r) => {
        const again = decodeAnswer({ id: r.id, website_id: r.websiteId, credits: String(r.credits) }, parse(encodeAnswer(r)));
        expect(JSON.stringify(again)).toBe(JSON.stringify(r));
      }),
      { numRuns: 2_000 },
    );
  });

  it("is a bigint[] literal of the balance, then a source and credits per part", () => {
    const r: UsageResult = {
      id: "0190a5e2-0000-7000-8000-000000000001",
      websiteId: "0190a5e2-0000-7000-8000-000000000002",
      credits: 30,
      parts: [
        { source: "website", credits: 5 },
        { source: "group_monthly", credits: 20 },
        { source: "group_one_time", credits: 5 },
      ],
      balance: { website: 0, groupMonthly: 0, groupOneTime: 995 },
    };
    expect(encodeAnswer(r)).toBe("{0,0,995,1,5,2,20,3,5}");
  });

  it("refuses an answer whose source it does not know, rather than replay something else", () => {
    expect(() => decodeAnswer({ id: "e", website_id: "w", credits: 1 }, [0, 0, 0, 9, 1])).toThrow(/unknown credit source 9/);
  });
});
