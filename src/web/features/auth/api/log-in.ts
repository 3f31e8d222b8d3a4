import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { User } from "../../../../contracts/session.js";
import { apiRequest } from "../../../lib/api-client.js";

export type LogInBody = { email: string; password: string };

export async function logIn(body: LogInBody) {
  return (await apiRequest("/api/session", { method: "POST", body })) as { user: User };
}

export function useLogIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: logIn,
    // Whatever was cached belonged to the previous (or no) session.
    onSuccess: () => queryClient.clear(),
  });
}
