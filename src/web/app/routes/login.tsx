import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { Card } from "../../components/ui/card.js";
import { LoginForm } from "../../features/auth/components/login-form.js";
import { orgsQueryOptions } from "../../features/groups/api/get-orgs.js";
import { PRODUCT_NAME } from "../app-shell.js";

export function LoginRoute() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  async function goToFirstOrg() {
    const { orgs } = await queryClient.fetchQuery(orgsQueryOptions());
    const first = orgs[0];
    await navigate(first ? `/orgs/${encodeURIComponent(first.id)}/groups` : "/", { replace: true });
  }

  return (
    <main className="flex min-h-dvh items-center justify-center px-4 py-10">
      <Card className="w-full max-w-sm p-6">
        <p className="text-sm font-semibold tracking-tight">{PRODUCT_NAME}</p>
        <h1 className="mt-4 text-xl font-semibold tracking-tight">Log in</h1>
        <p className="mt-1 mb-6 text-sm text-muted-foreground">Use your work email to manage your groups’ billing.</p>
        <LoginForm onLoggedIn={goToFirstOrg} />
      </Card>
    </main>
  );
}
