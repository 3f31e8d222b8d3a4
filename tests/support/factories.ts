import type { Db } from "../../src/server/db/client.js";
import { hashPassword } from "../../src/server/modules/access/passwords.js";
import { insertMembership, insertUser } from "../../src/server/modules/access/users-repo.js";
import { insertGroup, insertOrg, insertWebsite } from "../../src/server/modules/groups/groups-repo.js";

export const TEST_PASSWORD = "test-password";
let passwordHash: Promise<string> | null = null;
const uniq = () => crypto.randomUUID().slice(0, 8);

/**
 * An organization with two groups (websites in each) and one user per role:
 * org admin, admin of group A only, plain member.
 */
export async function createOrgFixture(db: Db, opts: { partnerManaged?: boolean; websites?: number } = {}) {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const hash = await passwordHash;
  const tag = uniq();
  const org = await insertOrg({ db, name: `Org ${tag}`, partnerManaged: opts.partnerManaged ?? false });
  const groupA = await insertGroup({ db, orgId: org.id, name: `Group A ${tag}` });
  const groupB = await insertGroup({ db, orgId: org.id, name: `Group B ${tag}` });
  const websitesA = [];
  for (let i = 0; i < (opts.websites ?? 3); i++) {
    websitesA.push(await insertWebsite({ db, orgId: org.id, groupId: groupA.id, name: `Site ${i} ${tag}`, url: `https://site${i}-${tag}.example` }));
  }
  const websiteB = await insertWebsite({ db, orgId: org.id, groupId: groupB.id, name: `Site B ${tag}`, url: `https://b-${tag}.example` });
  const loneWebsite = await insertWebsite({ db, orgId: org.id, groupId: null, name: `Lone ${tag}`, url: `https://lone-${tag}.example` });
  const user = async (role: "org_admin" | "group_admin" | "member", groupIds: string[] = []) => {
    const u = await insertUser({ db, email: `${role}-${tag}@test.example`, name: role, passwordHash: hash });
    await insertMembership({ db, userId: u.id, orgId: org.id, role, groupIds });
    return u.email;
  };
  return {
    org,
    groupA,
    groupB,
    websitesA,
    websiteB,
    loneWebsite,
    orgAdmin: await user("org_admin"),
    groupAdmin: await user("group_admin", [groupA.id]),
    member: await user("member"),
  };
}
export type OrgFixture = Awaited<ReturnType<typeof createOrgFixture>>;

/** Billing enabled and credits in a group's pool, written straight to the database (for ledger tests). */
export async function fundGroupPool(
  database: import("../../src/server/db/client.js").Database,
  groupId: string,
  pool: { monthly?: number; oneTime?: number; periodEnd?: Date },
) {
  const { grantCredits } = await import("../../src/server/modules/ledger/index.js");
  await database.query(
    `insert into billing_profiles (group_id, customer_type, stripe_customer_id) values ($1, 'standard', $2) on conflict do nothing`,
    [groupId, `cus_test_${groupId.slice(0, 8)}`],
  );
  await database.transaction(async (q) => {
    if (pool.monthly) {
      const end = pool.periodEnd ?? new Date(Date.now() + 20 * 86400_000);
      await grantCredits(q, { kind: "monthly", groupId, credits: pool.monthly, expiresAt: end, periodStart: new Date(end.getTime() - 30 * 86400_000), packages: 1, sourceKey: `test:m:${crypto.randomUUID()}`, now: new Date() });
    }
    if (pool.oneTime) await grantCredits(q, { kind: "one_time", groupId, credits: pool.oneTime, sourceKey: `test:o:${crypto.randomUUID()}`, now: new Date() });
  });
}

export async function createApiKeyFor(database: import("../../src/server/db/client.js").Database, orgId: string) {
  const { createApiKey } = await import("../../src/server/modules/access/access-service.js");
  return (await createApiKey({ db: database.db, orgId, name: "test" })).key;
}
