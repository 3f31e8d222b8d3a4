import { useMutation } from "@tanstack/react-query";
import type { PortalSessionResponse } from "../../../../contracts/billing.js";
import { apiRequest } from "../../../lib/api-client.js";

export async function createPortalSession({ groupId }: { groupId: string }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/portal`, { method: "POST" })) as PortalSessionResponse;
}

/** A customer portal session for the group's plan; the caller sends the browser to its `url`. */
export function useCreatePortalSession(groupId: string) {
  return useMutation({ mutationFn: () => createPortalSession({ groupId }) });
}
