import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../db/client.js";
import { demoSteps, groups, organizations, websites } from "../db/schema.js";
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

/**
 * Whether this start should load the demo (or finish loading it): the database is empty, or a
 * demo load began (its directory step is recorded) and did not reach `complete`.
 */
export async function isDemoUnfinished(db: Db) {
  const steps = await db.select({ step: demoSteps.step }).from(demoSteps).where(inArray(demoSteps.step, [DIRECTORY_STEP, COMPLETE_STEP]));
  const done = new Set(steps.map((s) => s.step));
  if (done.has(COMPLETE_STEP)) return false;
  return done.has(DIRECTORY_STEP) || (await isDatabaseEmpty(db));
}

export const DIRECTORY_STEP = "directory";
export const COMPLETE_STEP = "complete";

/**
 * Organizations, groups, websites and users of api.md's demo, in one transaction that records its
 * step; when the step is recorded already (a resumed load), the same groups are read back.
 * Billing state is added by the caller.
 */
export async function seedDirectory(db: Db): Promise<SeededGroup[]> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  return db.transaction(async (tx) => {
    const fresh = await tx.insert(demoSteps).values({ step: DIRECTORY_STEP }).onConflictDoNothing().returning();
    if (fresh.length === 0) return readDirectory(tx);
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

/** The demo's groups as seedDirectory made them, websites in the demo's order. */
async function readDirectory(db: DbOrTx): Promise<SeededGroup[]> {
  const seeded: SeededGroup[] = [];
  for (const o of demoOrgs) {
    const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.name, o.name)).orderBy(organizations.createdAt).limit(1);
    if (!org) throw new Error(`demo organization ${o.name} is missing`);
    for (const g of o.groups) {
      const [group] = await db.select({ id: groups.id }).from(groups).where(and(eq(groups.orgId, org.id), eq(groups.name, g.name))).limit(1);
      if (!group) throw new Error(`demo group ${g.name} is missing`);
      const rows = await db.select({ id: websites.id, name: websites.name }).from(websites).where(eq(websites.groupId, group.id));
      const websiteIds = g.websites.map((w) => rows.find((r) => r.name === w.name)!.id);
      seeded.push({ id: group.id, orgId: org.id, name: g.name, billing: g.billing, partnerManaged: o.partnerManaged, websiteIds });
    }
  }
  return seeded;
}
