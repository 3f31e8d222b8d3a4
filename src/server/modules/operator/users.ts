import { and, eq, inArray, isNull } from "drizzle-orm";
import type { OperatorUser, OperatorUserBody } from "../../../contracts/operator.js";
import type { Db, Tx } from "../../db/client.js";
import { groups, membershipGroups, memberships, organizations, users } from "../../db/schema.js";
import { AppError } from "../../errors.js";
import { requireOrgByExternalId } from "./lookups.js";

interface WantedMembership {
  orgId: string;
  orgExternalId: string;
  role: OperatorUserBody["memberships"][number]["role"];
  groupIds: string[];
  groupExternalIds: string[];
}

/** Every organization and group the body names must have been synced: 404 naming the first missing. */
async function resolveMemberships(tx: Tx, body: OperatorUserBody): Promise<WantedMembership[]> {
  const wanted: WantedMembership[] = [];
  for (const m of body.memberships) {
    const org = await requireOrgByExternalId({ db: tx, externalId: m.orgExternalId });
    const groupExternalIds = m.role === "group_admin" ? [...new Set(m.groupExternalIds ?? [])] : [];
    const found = groupExternalIds.length
      ? await tx
          .select({ id: groups.id, externalId: groups.externalId })
          .from(groups)
          .where(and(eq(groups.orgId, org.id), inArray(groups.externalId, groupExternalIds), isNull(groups.deletedAt)))
      : [];
    const missing = groupExternalIds.find((x) => !found.some((g) => g.externalId === x));
    if (missing) throw new AppError("not_found", `Group '${missing}' of organization '${m.orgExternalId}' not found. PUT it first.`);
    wanted.push({ orgId: org.id, orgExternalId: m.orgExternalId, role: m.role, groupIds: found.map((g) => g.id), groupExternalIds });
  }
  return wanted;
}

/** The user row for this platform id: its own, or a password user with the same email not yet linked to the platform. */
async function claimUser(tx: Tx, externalId: string, body: OperatorUserBody) {
  const [mine] = await tx.select().from(users).where(eq(users.externalId, externalId)).for("update");
  const [sameEmail] = await tx.select().from(users).where(eq(users.email, body.email)).for("update");
  if (sameEmail && sameEmail.id !== mine?.id && sameEmail.externalId !== null) {
    throw new AppError("conflict", `The email ${body.email} belongs to another user of the platform ('${sameEmail.externalId}'). Change or delete that user first.`);
  }
  if (mine) {
    if (sameEmail && sameEmail.id !== mine.id) {
      throw new AppError("conflict", `The email ${body.email} belongs to another user who signs in with a password.`);
    }
    if (mine.email !== body.email || mine.name !== body.name) await tx.update(users).set({ email: body.email, name: body.name }).where(eq(users.id, mine.id));
    return mine.id;
  }
  if (sameEmail) {
    // An existing password user (a small install moving to the platform) is linked, not duplicated.
    await tx.update(users).set({ externalId, name: body.name }).where(eq(users.id, sameEmail.id));
    return sameEmail.id;
  }
  const [created] = await tx
    .insert(users)
    .values({ email: body.email, name: body.name, externalId, passwordHash: null })
    .onConflictDoNothing()
    .returning({ id: users.id });
  if (!created) throw new AppError("conflict", "This user is being created by another request right now. Try again.");
  return created.id;
}

/**
 * Make the user's memberships in the platform's organizations exactly the wanted ones, touching only
 * what differs. Memberships in organizations the platform does not manage (no externalId: a linked
 * password user's own) are not the platform's to end, as it cannot name them.
 */
async function syncMemberships(tx: Tx, userId: string, wanted: WantedMembership[]) {
  const current = (
    await tx
      .select({ membership: memberships, orgExternalId: organizations.externalId })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.orgId))
      .where(eq(memberships.userId, userId))
  ).map((r) => ({ ...r.membership, managed: r.orgExternalId !== null }));
  const gone = current.filter((c) => c.managed && !wanted.some((w) => w.orgId === c.orgId)).map((c) => c.id);
  if (gone.length) await tx.delete(memberships).where(inArray(memberships.id, gone));
  for (const w of wanted) {
    const mine = current.find((c) => c.orgId === w.orgId);
    if (mine && mine.role !== w.role) await tx.update(memberships).set({ role: w.role }).where(eq(memberships.id, mine.id));
    const membershipId = mine ? mine.id : (await tx.insert(memberships).values({ userId, orgId: w.orgId, role: w.role }).returning({ id: memberships.id }))[0]!.id;
    const have = (await tx.select({ groupId: membershipGroups.groupId }).from(membershipGroups).where(eq(membershipGroups.membershipId, membershipId))).map(
      (r) => r.groupId,
    );
    const extra = have.filter((g) => !w.groupIds.includes(g));
    const missing = w.groupIds.filter((g) => !have.includes(g));
    if (extra.length) await tx.delete(membershipGroups).where(and(eq(membershipGroups.membershipId, membershipId), inArray(membershipGroups.groupId, extra)));
    if (missing.length) await tx.insert(membershipGroups).values(missing.map((groupId) => ({ membershipId, groupId })));
  }
}

/**
 * Create or update a user and replace their memberships with the ones given. A lowered role or a
 * removed group takes effect on the user's next request. The same body again changes nothing.
 */
export async function upsertUser({ db, externalId, body }: { db: Db; externalId: string; body: OperatorUserBody }): Promise<OperatorUser> {
  return db.transaction(async (tx) => {
    const wanted = await resolveMemberships(tx, body);
    const userId = await claimUser(tx, externalId, body);
    await syncMemberships(tx, userId, wanted);
    return {
      id: userId,
      externalId,
      email: body.email,
      name: body.name,
      memberships: wanted.map((w) => ({ orgExternalId: w.orgExternalId, role: w.role, groupExternalIds: w.groupExternalIds })),
    };
  });
}

/** Delete a user: their sessions end at once (the next request is 401). Deleting one that is not there is a no-op. */
export async function deleteUser({ db, externalId }: { db: Db; externalId: string }) {
  await db.delete(users).where(eq(users.externalId, externalId));
}
