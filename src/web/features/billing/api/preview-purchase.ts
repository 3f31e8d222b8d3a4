import { queryOptions, useQuery } from "@tanstack/react-query";
import type { PurchasePreview, PurchaseType } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

export async function previewPurchase({ groupId, type, quantity, signal }: { groupId: string; type: PurchaseType; quantity: number; signal?: AbortSignal }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/purchases/preview`, {
    method: "POST",
    body: { type, quantity },
    signal,
  })) as PurchasePreview;
}

/** What a purchase would charge now and the plan it leads to; read-only on the server, so cached like a query. */
export function purchasePreviewQueryOptions({ groupId, type, quantity }: { groupId: string; type: PurchaseType; quantity: number }) {
  return queryOptions({
    queryKey: billingKeys.preview(groupId, type, quantity),
    queryFn: ({ signal }) => previewPurchase({ groupId, type, quantity, signal }),
    staleTime: 30_000,
    retry: false,
  });
}

export function usePurchasePreview({ groupId, type, quantity, enabled }: { groupId: string; type: PurchaseType; quantity: number; enabled: boolean }) {
  return useQuery({ ...purchasePreviewQueryOptions({ groupId, type, quantity }), enabled });
}
