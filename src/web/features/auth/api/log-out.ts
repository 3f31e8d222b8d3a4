import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiRequest } from "../../../lib/api-client.js";

export async function logOut() {
  await apiRequest("/api/session", { method: "DELETE" });
}

export function useLogOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: logOut,
    onSettled: () => queryClient.clear(),
  });
}
