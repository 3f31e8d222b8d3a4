import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { organizations } from "../db/schema.js";
import { hashPassword } from "../modules/access/passwords.js";
import { insertMembership, insertUser } from "../modules/access/users-repo.js";
import { insertGroup, insertOrg, insertWebsite } from "../modules/groups/groups-repo.js";
import { DEMO_PASSWORD, demoOrgs } from "./demo-data.js";

export interface SeededGroup {
  id: string;
  orgId: string;
  name: string;
  billing: boolean;
  partnerManaged: boolean;
  websiteIds: string[];
}

export async function isDatabaseEmpty(db: Db) {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(organizations);
  return (row?.n ?? 0) === 0;
}

/** Organizations, groups, websites and users of api.md's demo. Billing state is added by the caller. */
export async function seedDirectory(db: Db): Promise<SeededGroup[]> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return db.transaction(async (tx) => {
    const seeded: SeededGroup[] = [];
    for (const o of demoOrgs) {
      const org = await insertOrg({ db: tx, name: o.name, partnerManaged: o.partnerManaged });
      const groupIds = new Map<string, string>();
      for (const g of o.groups) {
        const group = await insertGroup({ db: tx, orgId: org.id, name: g.name });
        groupIds.set(g.name, group.id);
        const websiteIds: string[] = [];
        for (const w of g.websites) websiteIds.push((await insertWebsite({ db: tx, orgId: org.id, groupId: group.id, ...w })).id);
        seeded.push({ id: group.id, orgId: org.id, name: g.name, billing: g.billing, partnerManaged: o.partnerManaged, websiteIds });
      }
      for (const u of o.users) {
        const user = await insertUser({ db: tx, email: u.email, name: u.name, passwordHash });
        await insertMembership({ db: tx, userId: user.id, orgId: org.id, role: u.role, groupIds: u.groups.map((n) => groupIds.get(n)!) });
      }
    }
    return seeded;
  });
}
