export const groupsKeys = {
  orgs: () => ["orgs"] as const,
  orgGroups: (orgId: string) => ["orgs", orgId, "groups"] as const,
  group: (groupId: string) => ["groups", groupId, "detail"] as const,
};
