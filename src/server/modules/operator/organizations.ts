import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { OperatorOrg, OperatorOrgBody } from "../../../contracts/operator.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { apiKeys, billingProfiles, groups, membershipGroups, memberships, organizations, plans, purchases, websites } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { findGroupMoneyAtStake, lockBillingProfiles } from "./money-at-stake.js";

type OrgRow = typeof organizations.$inferSelect;

const toOrg = (o: OrgRow): OperatorOrg => ({
  id: o.id,
  externalId: o.externalId!,
  name: o.name,
  partnerManaged: o.partnerManaged,
  partnerAccountId: o.partnerAccountId,
});

const liveOrg = (externalId: string) => and(eq(organizations.externalId, externalId), isNull(organizations.deletedAt));

/**
 * Create or update an organization by the platform's id. The same body again changes nothing;
 * who pays (partnerManaged) cannot change once a group has billing enabled.
 */
export async function upsertOrganization({ db, externalId, body }: { db: Db; externalId: string; body: OperatorOrgBody }): Promise<OperatorOrg> {
  const want = { name: body.name, partnerManaged: body.partnerManaged, partnerAccountId: body.partnerManaged ? (body.partnerAccountId ?? null) : null };
  return db.transaction(async (tx) => {
    await tx.insert(organizations).values({ ...want, externalId }).onConflictDoNothing({ target: organizations.externalId, where: isNull(organizations.deletedAt) });
    const [org] = await tx.select().from(organizations).where(liveOrg(externalId)).for("update");
    if (!org) throw new Error("organization vanished during upsert");
    if (org.name === want.name && org.partnerManaged === want.partnerManaged && org.partnerAccountId === want.partnerAccountId) return toOrg(org);
    if (org.partnerManaged !== want.partnerManaged) {
      const [billed] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(billingProfiles)
        .innerJoin(groups, eq(groups.id, billingProfiles.groupId))
        .where(and(eq(groups.orgId, org.id), isNull(groups.deletedAt)));
      if (billed && billed.n > 0) {
        throw new AppError(
          "conflict",
          `partnerManaged cannot change: ${billed.n} group(s) of this organization already have billing enabled with the current payer.`,
        );
      }
    }
    if (org.partnerManaged && want.partnerAccountId && org.partnerAccountId !== want.partnerAccountId) await movePartnerAccount(tx, org.id, want.partnerAccountId);
    const [updated] = await tx.update(organizations).set(want).where(eq(organizations.id, org.id)).returning();
    return toOrg(updated!);
  });
}

/**
 * The reseller moved the organization to another partner account: every group's next charge goes
 * to it (their billing profiles are locked, as for any change of their billing). Refused while a
 * charge to the current account may be in flight (a pending purchase, a renewal claimed in the last
 * minute), since its retry must reach the same account with the same key.
 */
async function movePartnerAccount(tx: DbOrTx, orgId: string, accountId: string) {
  const groupIds = (await tx.select({ id: groups.id }).from(groups).where(eq(groups.orgId, orgId))).map((g) => g.id);
  const locked = await lockBillingProfiles({ db: tx, groupIds });
  if (locked.length === 0) return;
  const ids = locked.map((l) => l.groupId);
  const [inFlight] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(purchases)
    .where(and(inArray(purchases.groupId, ids), eq(purchases.status, "pending")));
  const [renewing] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(plans)
    .where(and(inArray(plans.groupId, ids), sql`${plans.renewalClaimedAt} > now() - interval '60 seconds'`));
  if ((inFlight?.n ?? 0) + (renewing?.n ?? 0) > 0) {
    throw new AppError("conflict", "A charge to the current partner account is still settling. Try again in a minute.");
  }
  await tx.update(billingProfiles).set({ partnerAccountId: accountId }).where(inArray(billingProfiles.groupId, ids));
}

/**
 * Delete an organization whose websites are gone and whose groups hold no money: its groups go
 * with it, its members lose access and its API keys stop working. Billing records are kept.
 * Deleting one that is not there is a no-op, so a replayed delete is safe.
 */
export async function deleteOrganization({ db, externalId }: { db: Db; externalId: string }) {
  await db.transaction(async (tx) => {
    const [org] = await tx.select().from(organizations).where(liveOrg(externalId)).for("update");
    if (!org) return;
    const [sites] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(websites)
      .where(and(eq(websites.orgId, org.id), isNull(websites.deletedAt)));
    if (sites && sites.n > 0) {
      throw new AppError("conflict", `The organization still has ${sites.n} website(s). Delete them first (DELETE /api/operator/websites/{externalId}).`);
    }
    const live = await tx
      .select({ id: groups.id })
      .from(groups)
      .where(and(eq(groups.orgId, org.id), isNull(groups.deletedAt)))
      .orderBy(groups.id)
      .for("update");
    const groupIds = live.map((g) => g.id);
    await lockBillingProfiles({ db: tx, groupIds });
    const atStake = await findGroupMoneyAtStake({ db: tx, groupIds });
    if (atStake) throw new AppError("conflict", `The organization cannot be deleted yet. ${atStake}`);
    const now = new Date();
    if (groupIds.length) {
      await tx.delete(membershipGroups).where(inArray(membershipGroups.groupId, groupIds));
      await tx.update(groups).set({ deletedAt: now }).where(inArray(groups.id, groupIds));
    }
    await tx.delete(memberships).where(eq(memberships.orgId, org.id));
    await tx.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.orgId, org.id), isNull(apiKeys.revokedAt)));
    await tx.update(organizations).set({ deletedAt: now }).where(eq(organizations.id, org.id));
  });
}
