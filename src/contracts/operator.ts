import { z } from "@hono/zod-openapi";
import { PlanSummary } from "./billing.js";
import { Role } from "./session.js";

/** Limits on strings (credits.md "Settled details"). */
const Name = z.string().trim().min(1).max(200);
const HttpUrl = z
  .string()
  .max(2048)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), "Must be an http(s) URL.");
const Email = z.string().trim().toLowerCase().max(254).email();

/** The host platform's own id: letters, digits and `_ - . : @`, up to 255 characters (it sits in URL paths). */
export const ExternalId = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:@-]+$/, "Use letters, digits and _ - . : @ only.")
  .openapi({ example: "org_1842" });

export const ExternalIdParams = z.object({ externalId: ExternalId.openapi({ param: { name: "externalId", in: "path" } }) });
export const GroupParams = z.object({
  orgExternalId: ExternalId.openapi({ param: { name: "orgExternalId", in: "path" }, example: "org_1842" }),
  externalId: ExternalId.openapi({ param: { name: "externalId", in: "path" }, example: "grp_stores" }),
});

export const OperatorOrgBody = z
  .object({
    name: Name,
    partnerManaged: z.boolean(),
    /** The reseller's account at the partner billing API; required when partnerManaged. */
    partnerAccountId: z.string().trim().min(1).max(255).nullable().optional(),
  })
  .strict()
  .refine((o) => !o.partnerManaged || !!o.partnerAccountId, { message: "partnerAccountId is required when partnerManaged is true.", path: ["partnerAccountId"] })
  .openapi("OperatorOrgRequest", { example: { name: "Acme Retail", partnerManaged: false } });
export type OperatorOrgBody = z.infer<typeof OperatorOrgBody>;

export const OperatorOrg = z
  .object({ id: z.string(), externalId: z.string(), name: z.string(), partnerManaged: z.boolean(), partnerAccountId: z.string().nullable() })
  .openapi("OperatorOrg", {
    example: { id: "0b6c3f9e-2f6e-4b8a-9c7e-3d1f1c2b4a55", externalId: "org_1842", name: "Acme Retail", partnerManaged: false, partnerAccountId: null },
  });
export type OperatorOrg = z.infer<typeof OperatorOrg>;

export const OperatorGroupBody = z.object({ name: Name }).strict().openapi("OperatorGroupRequest", { example: { name: "Online Stores" } });
export type OperatorGroupBody = z.infer<typeof OperatorGroupBody>;

export const OperatorGroup = z
  .object({ id: z.string(), externalId: z.string(), orgExternalId: z.string(), name: z.string() })
  .openapi("OperatorGroup", {
    example: { id: "5d0f2a7c-8b1e-4c3d-a9f6-7e2b1c0d9a88", externalId: "grp_stores", orgExternalId: "org_1842", name: "Online Stores" },
  });
export type OperatorGroup = z.infer<typeof OperatorGroup>;

/** The reseller's change of a partner plan, applied at its next renewal. */
export const OperatorPlanBody = z
  .object({
    /** The packages from the next period: the plan's current packages, or fewer. */
    nextPeriodPackages: z.number().int().min(1).max(50),
    /** true: the plan ends at its period end; false: it renews (a cancelling plan resumes). */
    cancelAtPeriodEnd: z.boolean(),
  })
  .strict()
  .openapi("OperatorPlanRequest", { example: { nextPeriodPackages: 2, cancelAtPeriodEnd: false } });
export type OperatorPlanBody = z.infer<typeof OperatorPlanBody>;

export const OperatorPlan = z
  .object({ plan: PlanSummary.nullable() })
  .openapi("OperatorPlan", {
    example: {
      plan: {
        packages: 3,
        price: { amount: 2400, currency: "usd" },
        status: "active",
        currentPeriodEnd: "2026-12-27T00:00:00.000Z",
        cancelAt: null,
        nextPeriodPackages: 2,
      },
    },
  });
export type OperatorPlan = z.infer<typeof OperatorPlan>;

export const OperatorWebsiteBody = z
  .object({
    orgExternalId: ExternalId,
    /** null: the website belongs to no group (it spends only its own credits). */
    groupExternalId: ExternalId.nullable(),
    name: Name,
    url: HttpUrl,
    iconUrl: HttpUrl.nullable().optional(),
  })
  .strict()
  .openapi("OperatorWebsiteRequest", {
    example: { orgExternalId: "org_1842", groupExternalId: "grp_stores", name: "Acme Shoes", url: "https://shoes.acme.example", iconUrl: "https://shoes.acme.example/icon.png" },
  });
export type OperatorWebsiteBody = z.infer<typeof OperatorWebsiteBody>;

export const OperatorWebsite = z
  .object({
    id: z.string(),
    externalId: z.string(),
    orgExternalId: z.string(),
    groupExternalId: z.string().nullable(),
    name: z.string(),
    url: z.string(),
    iconUrl: z.string().nullable(),
  })
  .openapi("OperatorWebsite", {
    example: {
      id: "9a7e6d5c-4b3a-4921-8f0e-1d2c3b4a5f66",
      externalId: "site_shoes",
      orgExternalId: "org_1842",
      groupExternalId: "grp_stores",
      name: "Acme Shoes",
      url: "https://shoes.acme.example",
      iconUrl: "https://shoes.acme.example/icon.png",
    },
  });
export type OperatorWebsite = z.infer<typeof OperatorWebsite>;

export const OperatorMembership = z
  .object({
    orgExternalId: ExternalId,
    role: Role,
    /** The groups a group admin manages (only for `group_admin`). */
    groupExternalIds: z.array(ExternalId).max(1000).optional(),
  })
  .strict()
  .refine((m) => m.role === "group_admin" || !m.groupExternalIds?.length, {
    message: "groupExternalIds is only for group_admin memberships.",
    path: ["groupExternalIds"],
  });

export const OperatorUserBody = z
  .object({ email: Email, name: Name, memberships: z.array(OperatorMembership).max(100) })
  .strict()
  .refine((u) => new Set(u.memberships.map((m) => m.orgExternalId)).size === u.memberships.length, {
    message: "One membership per organization.",
    path: ["memberships"],
  })
  .openapi("OperatorUserRequest", {
    example: {
      email: "dana@acme.example",
      name: "Dana Whitfield",
      memberships: [{ orgExternalId: "org_1842", role: "group_admin", groupExternalIds: ["grp_stores"] }],
    },
  });
export type OperatorUserBody = z.infer<typeof OperatorUserBody>;

export const OperatorUser = z
  .object({
    id: z.string(),
    externalId: z.string(),
    email: z.string(),
    name: z.string(),
    memberships: z.array(z.object({ orgExternalId: z.string(), role: Role, groupExternalIds: z.array(z.string()) })),
  })
  .openapi("OperatorUser", {
    example: {
      id: "3c2b1a09-8f7e-4d6c-b5a4-9e8d7c6b5a44",
      externalId: "user_77",
      email: "dana@acme.example",
      name: "Dana Whitfield",
      memberships: [{ orgExternalId: "org_1842", role: "group_admin", groupExternalIds: ["grp_stores"] }],
    },
  });
export type OperatorUser = z.infer<typeof OperatorUser>;
