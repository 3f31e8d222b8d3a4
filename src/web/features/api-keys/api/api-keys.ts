import { queryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiKeyCreated, ApiKeysResponse } from "../../../../contracts/api-keys.js";
import { apiRequest } from "../../../lib/api-client.js";

/** Query keys of an organization's API keys. */
export const apiKeysKeys = {
  list: (orgId: string) => ["orgs", orgId, "api-keys"] as const,
};

const path = (orgId: string) => `/api/orgs/${encodeURIComponent(orgId)}/api-keys`;

export async function getApiKeys({ orgId, signal }: { orgId: string; signal?: AbortSignal }) {
  return (await apiRequest(path(orgId), { signal })) as ApiKeysResponse;
}

export function apiKeysQueryOptions(orgId: string) {
  return queryOptions({ queryKey: apiKeysKeys.list(orgId), queryFn: ({ signal }) => getApiKeys({ orgId, signal }) });
}

export function useApiKeys(orgId: string) {
  return useQuery(apiKeysQueryOptions(orgId));
}

export async function createApiKey({ orgId, name }: { orgId: string; name: string }) {
  return (await apiRequest(path(orgId), { method: "POST", body: { name } })) as ApiKeyCreated;
}

export function useCreateApiKey(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => createApiKey({ orgId, name }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysKeys.list(orgId) }),
  });
}

export async function revokeApiKey({ orgId, keyId }: { orgId: string; keyId: string }) {
  await apiRequest(`${path(orgId)}/${encodeURIComponent(keyId)}`, { method: "DELETE" });
}

export function useRevokeApiKey(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (keyId: string) => revokeApiKey({ orgId, keyId }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: apiKeysKeys.list(orgId) }),
  });
}
