import type { Query } from "../../db/client.js";

/** Monthly pool caps of the group's websites (websiteId -> credits), set by pool controls (issue 14). */
export async function findPoolCaps({ query, groupId }: { query: Query; groupId: string }): Promise<Map<string, number>> {
  const { rows } = await query<{ website_id: string; monthly_credits: number }>(
    `select c.website_id, c.monthly_credits from website_pool_caps c join websites w on w.id = c.website_id and w.group_id = c.group_id
      where c.group_id = $1`,
    [groupId],
  );
  return new Map(rows.map((r) => [r.website_id, Number(r.monthly_credits)]));
}
