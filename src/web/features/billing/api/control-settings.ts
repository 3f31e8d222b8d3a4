import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ControlSettings, ControlSettingsBody, PoolCap } from "../../../../contracts/controls.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

const settingsPath = (groupId: string) => `/api/groups/${encodeURIComponent(groupId)}/billing/settings`;

export async function getControlSettings({ groupId, signal }: { groupId: string; signal?: AbortSignal }) {
  return (await apiRequest(settingsPath(groupId), { signal })) as ControlSettings;
}

export function controlSettingsQueryOptions(groupId: string) {
  return queryOptions({
    queryKey: billingKeys.settings(groupId),
    queryFn: ({ signal }) => getControlSettings({ groupId, signal }),
    // The low-balance banner follows the pool while usage comes in from the websites.
    refetchInterval: 15_000,
  });
}

export function useControlSettings(groupId: string) {
  return useQuery(controlSettingsQueryOptions(groupId));
}

export function useUpdateControlSettings(groupId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ControlSettingsBody) => (await apiRequest(settingsPath(groupId), { method: "PUT", body })) as ControlSettings,
    onSuccess: (settings) => {
      queryClient.setQueryData(billingKeys.settings(groupId), settings);
      // Turning auto top-up on may buy credits at once.
      void queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) });
    },
  });
}

export function useSendTestEvent(groupId: string) {
  return useMutation({
    mutationFn: async () => (await apiRequest(`${settingsPath(groupId)}/test-event`, { method: "POST" })) as { id: string; status: "queued" },
  });
}

export function useSetPoolCap(groupId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ websiteId, monthlyCredits }: { websiteId: string; monthlyCredits: number | null }) =>
      (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/websites/${encodeURIComponent(websiteId)}/pool-cap`, {
        method: "PUT",
        body: { monthlyCredits },
      })) as PoolCap,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) }),
  });
}
