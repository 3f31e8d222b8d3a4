import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { GroupDetail, GroupSummary, Org } from "../../../contracts/groups.js";
import type { DbOrTx } from "../../db/client.js";
import { billingProfiles, groups, organizations, websites } from "../../db/schema.js";
import { forbidden } from "../../errors.js";
import { canAdminGroup, type Principal, requireOrgMember } from "../access/access-service.js";

export async function findOrgs({ db, principal }: { db: DbOrTx; principal: Principal }): Promise<Org[]> {
  const ids = principal.memberships.map((m) => m.orgId);
  if (ids.length === 0) return [];
  return db
    .select({ id: organizations.id, name: organizations.name, partnerManaged: organizations.partnerManaged })
    .from(organizations)
    .where(and(inArray(organizations.id, ids), isNull(organizations.deletedAt)))
    .orderBy(asc(organizations.name));
}

/** Groups an admin may manage: all for org admins, their own for group admins; members none. */
export async function findGroups({ db, principal, orgId }: { db: DbOrTx; principal: Principal; orgId: string }): Promise<GroupSummary[]> {
  const membership = requireOrgMember(principal, orgId);
  if (membership.role === "member") throw forbidden("Groups are managed by organization and group admins only.");
  const rows = await db
    .select({
      id: groups.id,
      name: groups.name,
      websiteCount: sql<number>`(select count(*)::int from ${websites} where ${websites.groupId} = ${groups.id})`,
      billingEnabled: sql<boolean>`${billingProfiles.groupId} is not null`,
    })
    .from(groups)
    .leftJoin(billingProfiles, eq(billingProfiles.groupId, groups.id))
    .where(and(eq(groups.orgId, orgId), isNull(groups.deletedAt)))
    .orderBy(asc(groups.name));
  return membership.role === "group_admin" ? rows.filter((g) => canAdminGroup(principal, orgId, g.id)) : rows;
}

export async function findGroupDetail({ db, group }: { db: DbOrTx; group: { id: string; orgId: string; name: string } }): Promise<GroupDetail> {
  const sites = await db
    .select({ id: websites.id, name: websites.name, url: websites.url, iconUrl: websites.iconUrl })
    .from(websites)
    .where(eq(websites.groupId, group.id))
    .orderBy(asc(websites.name));
  return { id: group.id, orgId: group.orgId, name: group.name, websites: sites };
}
