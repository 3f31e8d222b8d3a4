import { and, eq, isNull } from "drizzle-orm";
import type { OperatorWebsite, OperatorWebsiteBody } from "../../../contracts/operator.js";
import type { Db } from "../../db/client.js";
import { groups, websitePoolCaps, websites } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { requireOrgByExternalId } from "./lookups.js";
import { findWebsiteOwnCredits } from "./money-at-stake.js";

const liveWebsite = (externalId: string) => and(eq(websites.externalId, externalId), isNull(websites.deletedAt));

/**
 * Create or update a website by the platform's id. Moving it to another group of its organization
 * keeps its own credits (they belong to the website) and its next debit draws on the new group's
 * pool (the debit reads the website's group in its own transaction). Another organization is 409.
 */
export async function upsertWebsite({ db, externalId, body }: { db: Db; externalId: string; body: OperatorWebsiteBody }): Promise<OperatorWebsite> {
  return db.transaction(async (tx) => {
    const org = await requireOrgByExternalId({ db: tx, externalId: body.orgExternalId });
    let groupId: string | null = null;
    if (body.groupExternalId !== null) {
      // A share lock: the group cannot be deleted while a website moves into it.
      const [group] = await tx
        .select({ id: groups.id })
        .from(groups)
        .where(and(eq(groups.orgId, org.id), eq(groups.externalId, body.groupExternalId), isNull(groups.deletedAt)))
        .for("share");
      if (!group) {
        throw new AppError("not_found", `Group '${body.groupExternalId}' of organization '${body.orgExternalId}' not found. PUT it first.`);
      }
      groupId = group.id;
    }
    const want = { name: body.name, url: body.url, iconUrl: body.iconUrl ?? null, groupId };
    await tx
      .insert(websites)
      .values({ ...want, orgId: org.id, externalId })
      .onConflictDoNothing({ target: websites.externalId, where: isNull(websites.deletedAt) });
    const [existing] = await tx.select().from(websites).where(liveWebsite(externalId)).for("update");
    if (!existing) throw new Error("website vanished during upsert");
    if (existing.orgId !== org.id) {
      throw new AppError(
        "conflict",
        "This website belongs to another organization; websites cannot move between organizations. Its credits stay with its own organization.",
      );
    }
    let site: typeof existing | undefined = existing;
    if (existing.name !== want.name || existing.url !== want.url || existing.iconUrl !== want.iconUrl || existing.groupId !== want.groupId) {
      [site] = await tx.update(websites).set(want).where(eq(websites.id, existing.id)).returning();
    }
    // A cap belongs to the website in its group: moving it to another group clears it (credits.md "Caps").
    if (existing.groupId !== want.groupId) await tx.delete(websitePoolCaps).where(eq(websitePoolCaps.websiteId, existing.id));
    return {
      id: site!.id,
      externalId,
      orgExternalId: body.orgExternalId,
      groupExternalId: body.groupExternalId,
      name: site!.name,
      url: site!.url,
      iconUrl: site!.iconUrl,
    };
  });
}

/**
 * Delete a website that holds no credits of its own. It leaves its group at once; its ledger
 * history is kept. Deleting one that is not there is a no-op.
 */
export async function deleteWebsite({ db, externalId }: { db: Db; externalId: string }) {
  await db.transaction(async (tx) => {
    const [site] = await tx.select().from(websites).where(liveWebsite(externalId)).for("update");
    if (!site) return;
    const own = await findWebsiteOwnCredits({ db: tx, websiteId: site.id });
    if (own > 0) {
      throw new AppError("conflict", `The website still has ${own} credits of its own. Delete it once they are spent or have expired.`);
    }
    await tx.update(websites).set({ deletedAt: new Date(), groupId: null }).where(eq(websites.id, site.id));
    await tx.delete(websitePoolCaps).where(eq(websitePoolCaps.websiteId, site.id));
  });
}
