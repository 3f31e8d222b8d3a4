import type { Query } from "../../db/client.js";

/**
 * Monthly pool caps of the group's websites (websiteId -> credits). Pool caps (issue 14) are not
 * in this branch yet: no website is capped until their table lands, then this reads it.
 */
export async function findPoolCaps(_: { query: Query; groupId: string }): Promise<Map<string, number>> {
  return Promise.resolve(new Map<string, number>());
}
