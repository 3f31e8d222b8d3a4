import { queryOptions, useQuery } from "@tanstack/react-query";
import type { PurchaseStatus } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

const POLL_INTERVAL_MS = 1000;
/** How long the page waits for Stripe's webhook before telling the user it is still on its way. */
export const PURCHASE_POLL_TIMEOUT_MS = 30_000;

export async function getPurchaseStatus({ groupId, purchaseId, signal }: { groupId: string; purchaseId: string; signal?: AbortSignal }) {
  const path = `/api/groups/${encodeURIComponent(groupId)}/billing/purchases/${encodeURIComponent(purchaseId)}`;
  return (await apiRequest(path, { signal })) as PurchaseStatus;
}

export function isPurchaseSettled(status: PurchaseStatus["status"] | undefined): boolean {
  return status !== undefined && status !== "pending" && status !== "open";
}

export function purchaseStatusQueryOptions({ groupId, purchaseId, startedAt }: { groupId: string; purchaseId: string; startedAt: number }) {
  return queryOptions({
    queryKey: billingKeys.purchase(groupId, purchaseId),
    queryFn: ({ signal }) => getPurchaseStatus({ groupId, purchaseId, signal }),
    refetchInterval: (query) =>
      isPurchaseSettled(query.state.data?.status) || Date.now() - startedAt > PURCHASE_POLL_TIMEOUT_MS ? false : POLL_INTERVAL_MS,
    refetchIntervalInBackground: true,
    // The client's default retry: a purchase that is not there (404, or an id that is not one) is not asked again.
  });
}

export function usePurchaseStatus({ groupId, purchaseId, startedAt }: { groupId: string; purchaseId: string | null; startedAt: number }) {
  return useQuery({
    ...purchaseStatusQueryOptions({ groupId, purchaseId: purchaseId ?? "", startedAt }),
    enabled: purchaseId !== null,
  });
}
