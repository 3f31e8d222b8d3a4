import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { Card } from "../../components/ui/card.js";
import { sessionQueryOptions } from "../../features/auth/api/get-session.js";
import { LoginForm } from "../../features/auth/components/login-form.js";
import { orgsQueryOptions } from "../../features/groups/api/get-orgs.js";
import { safeReturnPath } from "../../lib/return-to.js";
import { PRODUCT_NAME } from "../app-shell.js";

export function LoginRoute() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [searchParams] = useSearchParams();
  const next = safeReturnPath(searchParams.get("next"));
  // Already signed in: nothing to do here.
  const session = useQuery(sessionQueryOptions());

  async function continueAfterLogIn() {
    if (next) {
      await navigate(next, { replace: true });
      return;
    }
    const { orgs } = await queryClient.fetchQuery(orgsQueryOptions());
    const first = orgs[0];
    await navigate(first ? `/orgs/${encodeURIComponent(first.id)}/groups` : "/", { replace: true });
  }

  if (session.data) return <Navigate to={next ?? "/"} replace />;
  if (session.isPending) return null;

  return (
    <main className="flex min-h-dvh items-center justify-center px-4 py-10">
      <Card className="w-full max-w-sm p-6">
        <p className="text-sm font-semibold tracking-tight">{PRODUCT_NAME}</p>
        <h1 className="mt-4 text-xl font-semibold tracking-tight">Log in</h1>
        <p className="mt-1 mb-6 text-sm text-muted-foreground">Use your work email to manage your groups’ billing.</p>
        <LoginForm onLoggedIn={continueAfterLogIn} />
      </Card>
    </main>
  );
}
