import type { DbOrTx } from "../../db/client.js";
import { groups, organizations, websites } from "../../db/schema.js";

export async function insertOrg({ db, name, partnerManaged = false }: { db: DbOrTx; name: string; partnerManaged?: boolean }) {
  const [org] = await db
    .insert(organizations)
    .values({ name, partnerManaged, partnerAccountId: partnerManaged ? `pa_${crypto.randomUUID().slice(0, 8)}` : null })
    .returning();
  return org!;
}

export async function insertGroup({ db, orgId, name }: { db: DbOrTx; orgId: string; name: string }) {
  const [group] = await db.insert(groups).values({ orgId, name }).returning();
  return group!;
}

export async function insertWebsite({
  db,
  orgId,
  groupId,
  name,
  url,
  iconUrl = null,
}: {
  db: DbOrTx;
  orgId: string;
  groupId: string | null;
  name: string;
  url: string;
  iconUrl?: string | null;
}) {
  const [site] = await db.insert(websites).values({ orgId, groupId, name, url, iconUrl }).returning();
  return site!;
}
