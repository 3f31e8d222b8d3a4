import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { CustomerType } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

type EnableBillingResult = { enabled: true; customerType: CustomerType };

export async function enableBilling({ groupId }: { groupId: string }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/enable`, { method: "POST" })) as EnableBillingResult;
}

export function useEnableBilling(groupId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => enableBilling({ groupId }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) }),
  });
}
