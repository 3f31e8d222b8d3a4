import { queryOptions, useQuery } from "@tanstack/react-query";
import type { DemoResponse } from "../../../../contracts/session.js";
import { apiRequest } from "../../../lib/api-client.js";

export async function getDemoAccounts({ signal }: { signal?: AbortSignal } = {}) {
  return (await apiRequest("/api/demo", { signal })) as DemoResponse;
}

export function demoAccountsQueryOptions() {
  return queryOptions({
    queryKey: ["demo-accounts"] as const,
    queryFn: ({ signal }) => getDemoAccounts({ signal }),
    staleTime: Infinity,
  });
}

/** The demo's sign-ins while the demo data is loaded; `demo` is null otherwise. */
export function useDemoAccounts() {
  return useQuery(demoAccountsQueryOptions());
}
