import { and, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { groups, organizations, websites } from "../../db/schema.js";
import { AppError } from "../../errors.js";

/** A live (not deleted) organization by the platform's id, or null. */
export async function findOrgByExternalId({ db, externalId }: { db: DbOrTx; externalId: string }) {
  const [org] = await db
    .select()
    .from(organizations)
    .where(and(eq(organizations.externalId, externalId), isNull(organizations.deletedAt)));
  return org ?? null;
}

/** The organization a website, group or user refers to: it must have been synced first. */
export async function requireOrgByExternalId({ db, externalId }: { db: DbOrTx; externalId: string }) {
  const org = await findOrgByExternalId({ db, externalId });
  if (!org) throw new AppError("not_found", `Organization '${externalId}' not found. PUT /api/operator/orgs/${externalId} first.`);
  return org;
}

/** A live group of an organization by the platform's id, or null. */
export async function findGroupByExternalId({ db, orgId, externalId }: { db: DbOrTx; orgId: string; externalId: string }) {
  const [group] = await db
    .select()
    .from(groups)
    .where(and(eq(groups.orgId, orgId), eq(groups.externalId, externalId), isNull(groups.deletedAt)));
  return group ?? null;
}

/** The organization of a live website (the operator key is not tied to one organization), or 404. */
export async function requireWebsiteOrgId({ db, websiteId }: { db: DbOrTx; websiteId: string }) {
  const [site] = await db
    .select({ orgId: websites.orgId })
    .from(websites)
    .where(and(eq(websites.id, websiteId), isNull(websites.deletedAt)));
  if (!site) throw new AppError("not_found", "Website not found.");
  return site.orgId;
}
