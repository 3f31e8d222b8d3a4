import { queryOptions, useQuery } from "@tanstack/react-query";
import type { BillingSummary } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

export async function getBillingSummary({ groupId, signal }: { groupId: string; signal?: AbortSignal }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing`, { signal })) as BillingSummary;
}

export function billingSummaryQueryOptions(groupId: string) {
  return queryOptions({
    queryKey: billingKeys.summary(groupId),
    queryFn: ({ signal }) => getBillingSummary({ groupId, signal }),
  });
}

export function useBillingSummary(groupId: string) {
  return useQuery(billingSummaryQueryOptions(groupId));
}
