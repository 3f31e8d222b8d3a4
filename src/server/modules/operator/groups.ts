import { and, eq, isNull, sql } from "drizzle-orm";
import type { OperatorGroup, OperatorGroupBody } from "../../../contracts/operator.js";
import type { Db } from "../../db/client.js";
import { groups, membershipGroups, websites } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { findOrgByExternalId, requireOrgByExternalId } from "./lookups.js";
import { findGroupMoneyAtStake, lockBillingProfiles } from "./money-at-stake.js";

const liveGroup = (orgId: string, externalId: string) => and(eq(groups.orgId, orgId), eq(groups.externalId, externalId), isNull(groups.deletedAt));

/** Create or rename a group of an organization by the platform's ids; the same body again changes nothing. */
export async function upsertGroup({ db, orgExternalId, externalId, body }: { db: Db; orgExternalId: string; externalId: string; body: OperatorGroupBody }): Promise<OperatorGroup> {
  return db.transaction(async (tx) => {
    const org = await requireOrgByExternalId({ db: tx, externalId: orgExternalId });
    await tx
      .insert(groups)
      .values({ orgId: org.id, externalId, name: body.name })
      .onConflictDoNothing({ target: [groups.orgId, groups.externalId], where: isNull(groups.deletedAt) });
    const [group] = await tx.select().from(groups).where(liveGroup(org.id, externalId)).for("update");
    if (!group) throw new Error("group vanished during upsert");
    if (group.name !== body.name) await tx.update(groups).set({ name: body.name }).where(eq(groups.id, group.id));
    return { id: group.id, externalId, orgExternalId, name: body.name };
  });
}

/**
 * Delete a group with no websites and no money in it (see money-at-stake). Its billing records are
 * kept; its group admins lose it. Deleting one that is not there is a no-op.
 */
export async function deleteGroup({ db, orgExternalId, externalId }: { db: Db; orgExternalId: string; externalId: string }) {
  await db.transaction(async (tx) => {
    const org = await findOrgByExternalId({ db: tx, externalId: orgExternalId });
    if (!org) return;
    const [group] = await tx.select().from(groups).where(liveGroup(org.id, externalId)).for("update");
    if (!group) return;
    const [sites] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(websites)
      .where(and(eq(websites.groupId, group.id), isNull(websites.deletedAt)));
    if (sites && sites.n > 0) {
      throw new AppError("conflict", `The group still has ${sites.n} website(s). Move them to another group (or to none) or delete them first.`);
    }
    await lockBillingProfiles({ db: tx, groupIds: [group.id] });
    const atStake = await findGroupMoneyAtStake({ db: tx, groupIds: [group.id] });
    if (atStake) throw new AppError("conflict", `The group cannot be deleted yet. ${atStake}`);
    await tx.delete(membershipGroups).where(eq(membershipGroups.groupId, group.id));
    await tx.update(groups).set({ deletedAt: new Date() }).where(eq(groups.id, group.id));
  });
}
