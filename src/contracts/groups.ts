import { z } from "@hono/zod-openapi";

export const Org = z.object({ id: z.string(), name: z.string(), partnerManaged: z.boolean() }).openapi("Org");
export type Org = z.infer<typeof Org>;
export const OrgsResponse = z.object({ orgs: z.array(Org) });
export type OrgsResponse = z.infer<typeof OrgsResponse>;

export const GroupSummary = z
  .object({ id: z.string(), name: z.string(), websiteCount: z.number().int(), billingEnabled: z.boolean() })
  .openapi("GroupSummary");
export type GroupSummary = z.infer<typeof GroupSummary>;
export const GroupsResponse = z.object({ groups: z.array(GroupSummary) });
export type GroupsResponse = z.infer<typeof GroupsResponse>;

export const Website = z
  .object({ id: z.string(), name: z.string(), url: z.string(), iconUrl: z.string().nullable() })
  .openapi("Website");
export type Website = z.infer<typeof Website>;
export const GroupDetail = z
  .object({ id: z.string(), orgId: z.string(), name: z.string(), websites: z.array(Website) })
  .openapi("GroupDetail");
export type GroupDetail = z.infer<typeof GroupDetail>;
