import { queryOptions, useQuery } from "@tanstack/react-query";
import type { GroupDetail } from "../../../../contracts/groups.js";
import { apiRequest } from "../../../lib/api-client.js";
import { groupsKeys } from "./groups-keys.js";

export async function getGroup({ groupId, signal }: { groupId: string; signal?: AbortSignal }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}`, { signal })) as GroupDetail;
}

export function groupQueryOptions(groupId: string) {
  return queryOptions({
    queryKey: groupsKeys.group(groupId),
    queryFn: ({ signal }) => getGroup({ groupId, signal }),
  });
}

export function useGroup(groupId: string | undefined) {
  return useQuery({ ...groupQueryOptions(groupId ?? ""), enabled: groupId !== undefined });
}
