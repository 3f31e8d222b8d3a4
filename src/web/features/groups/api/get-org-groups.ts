import { queryOptions, useQuery } from "@tanstack/react-query";
import type { GroupsResponse } from "../../../../contracts/groups.js";
import { apiRequest } from "../../../lib/api-client.js";
import { groupsKeys } from "./groups-keys.js";

export async function getOrgGroups({ orgId, signal }: { orgId: string; signal?: AbortSignal }) {
  return (await apiRequest(`/api/orgs/${encodeURIComponent(orgId)}/groups`, { signal })) as GroupsResponse;
}

export function orgGroupsQueryOptions(orgId: string) {
  return queryOptions({
    queryKey: groupsKeys.orgGroups(orgId),
    queryFn: ({ signal }) => getOrgGroups({ orgId, signal }),
  });
}

export function useOrgGroups(orgId: string) {
  return useQuery(orgGroupsQueryOptions(orgId));
}
