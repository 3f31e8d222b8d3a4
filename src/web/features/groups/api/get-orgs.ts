import { queryOptions, useQuery } from "@tanstack/react-query";
import type { OrgsResponse } from "../../../../contracts/groups.js";
import { apiRequest } from "../../../lib/api-client.js";
import { groupsKeys } from "./groups-keys.js";

export async function getOrgs({ signal }: { signal?: AbortSignal } = {}) {
  return (await apiRequest("/api/orgs", { signal })) as OrgsResponse;
}

export function orgsQueryOptions() {
  return queryOptions({
    queryKey: groupsKeys.orgs(),
    queryFn: ({ signal }) => getOrgs({ signal }),
    staleTime: 60_000,
  });
}

export function useOrgs() {
  return useQuery(orgsQueryOptions());
}
