import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { PurchaseBody, PurchaseResponse } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

export async function createPurchase({ groupId, body, idempotencyKey }: { groupId: string; body: PurchaseBody; idempotencyKey: string }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/purchases`, {
    method: "POST",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
  })) as PurchaseResponse;
}

export function useCreatePurchase(groupId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: PurchaseBody; idempotencyKey: string }) =>
      createPurchase({ groupId, body, idempotencyKey }),
    onSuccess: async (result) => {
      // A partner charge lands immediately; a Checkout redirect changes nothing yet.
      if (result.status === "completed") await queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) });
    },
  });
}
