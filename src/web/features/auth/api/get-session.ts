import { queryOptions, useQuery } from "@tanstack/react-query";
import type { SessionResponse } from "../../../../contracts/session.js";
import { apiRequest } from "../../../lib/api-client.js";

export const sessionKey = ["session"] as const;

export async function getSession({ signal }: { signal?: AbortSignal } = {}) {
  return (await apiRequest("/api/session", { signal })) as SessionResponse;
}

export function sessionQueryOptions() {
  return queryOptions({
    queryKey: sessionKey,
    queryFn: ({ signal }) => getSession({ signal }),
    staleTime: 5 * 60_000,
  });
}

export function useSession() {
  return useQuery(sessionQueryOptions());
}
