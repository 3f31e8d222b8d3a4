import { z } from "@hono/zod-openapi";

export const Role = z.enum(["org_admin", "group_admin", "member"]);
export type Role = z.infer<typeof Role>;

export const User = z.object({ id: z.string(), email: z.string(), name: z.string() }).openapi("User");
export type User = z.infer<typeof User>;

export const LoginBody = z
  .object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) })
  .strict();

export const Membership = z.object({
  orgId: z.string(),
  role: Role,
  groupIds: z.array(z.string()).optional(),
});
export type Membership = z.infer<typeof Membership>;

export const LoginResponse = z.object({ user: User });
export const SessionResponse = z.object({ user: User, memberships: z.array(Membership) });
export type SessionResponse = z.infer<typeof SessionResponse>;

/** The demo's sign-ins, present only while the demo data is loaded (for the login page). */
export const DemoAccount = z.object({ email: z.string(), description: z.string() });
export const DemoResponse = z
  .object({ demo: z.object({ password: z.string(), accounts: z.array(DemoAccount) }).nullable() })
  .openapi("DemoResponse", {
    example: { demo: { password: "demo-password", accounts: [{ email: "org-admin@demo.test", description: "Org admin · Demo Org" }] } },
  });
export type DemoResponse = z.infer<typeof DemoResponse>;
