import { inArray } from "drizzle-orm";
import type { DemoResponse } from "../../contracts/session.js";
import type { Db } from "../db/client.js";
import { users } from "../db/schema.js";
import { DEMO_PASSWORD, demoOrgs } from "./demo-data.js";

const ROLE_NAMES = { org_admin: "Org admin", group_admin: "Group admin", member: "Member" } as const;

/** The demo's accounts that exist in this database, for the login page; null when there are none. */
export async function findDemoSignIn(db: Db): Promise<DemoResponse["demo"]> {
  const accounts = demoOrgs.flatMap((org) =>
    org.users.map((user) => ({
      email: user.email,
      description: `${ROLE_NAMES[user.role]} · ${user.groups.length > 0 ? user.groups.join(", ") : org.name}${org.partnerManaged ? " (partner-managed)" : ""}`,
    })),
  );
  const present = await db.select({ email: users.email }).from(users).where(inArray(users.email, accounts.map((a) => a.email)));
  const emails = new Set(present.map((row) => row.email));
  const loaded = accounts.filter((account) => emails.has(account.email));
  return loaded.length > 0 ? { password: DEMO_PASSWORD, accounts: loaded } : null;
}
