import type { DbOrTx } from "../../db/client.js";
import { membershipGroups, memberships, users } from "../../db/schema.js";
import { hashPassword } from "./passwords.js";

export async function insertUser({
  db,
  email,
  name,
  password,
  passwordHash,
}: {
  db: DbOrTx;
  email: string;
  name: string;
  password?: string;
  passwordHash?: string;
}) {
  const hash = passwordHash ?? (await hashPassword(password ?? crypto.randomUUID()));
  const [user] = await db.insert(users).values({ email: email.toLowerCase(), name, passwordHash: hash }).returning();
  return user!;
}

export async function insertMembership({
  db,
  userId,
  orgId,
  role,
  groupIds = [],
}: {
  db: DbOrTx;
  userId: string;
  orgId: string;
  role: "org_admin" | "group_admin" | "member";
  groupIds?: string[];
}) {
  const [m] = await db.insert(memberships).values({ userId, orgId, role }).returning();
  if (groupIds.length) await db.insert(membershipGroups).values(groupIds.map((groupId) => ({ membershipId: m!.id, groupId })));
  return m!;
}
