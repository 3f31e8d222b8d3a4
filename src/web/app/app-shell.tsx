import { LogOut } from "lucide-react";
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { Button } from "../components/ui/button.js";
import { SkeletonLine } from "../components/ui/skeleton.js";
import { useLogOut } from "../features/auth/api/log-out.js";
import { useSession } from "../features/auth/api/get-session.js";
import { useGroup } from "../features/groups/api/get-group.js";
import { useOrgs } from "../features/groups/api/get-orgs.js";
import { isApiError } from "../lib/api-client.js";
import { isUuid } from "../lib/ids.js";
import { loginPathFor } from "../lib/return-to.js";

export const PRODUCT_NAME = "Sitecredits";

/** The organization the current page belongs to: from the URL, from the group, or the first one. */
function useCurrentOrg() {
  const { orgId, groupId } = useParams();
  const orgs = useOrgs();
  const group = useGroup(orgId || !isUuid(groupId) ? undefined : groupId);
  const id = orgId ?? group.data?.orgId;
  const list = orgs.data?.orgs;
  if (!list) return { org: undefined, loading: orgs.isPending };
  return { org: list.find((org) => org.id === id) ?? (id ? undefined : list[0]), loading: false };
}

export function AppShell() {
  const session = useSession();
  const { org, loading } = useCurrentOrg();
  const logOut = useLogOut();
  const navigate = useNavigate();
  const location = useLocation();

  if (session.isError && isApiError(session.error) && session.error.status === 401) {
    return <Navigate to={loginPathFor(location)} replace />;
  }

  return (
    <div className="min-h-dvh">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-background focus:px-3 focus:py-2 focus:shadow"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-40 border-b bg-background/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-5xl items-center gap-3 px-4 sm:px-6">
          <Link to="/" className="rounded-sm text-sm font-semibold tracking-tight focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
            {PRODUCT_NAME}
          </Link>
          <span className="text-zinc-300" aria-hidden="true">
            /
          </span>
          <div className="min-w-0 flex-1">
            {org ? (
              <Link
                to={`/orgs/${encodeURIComponent(org.id)}/groups`}
                className="block truncate rounded-sm text-sm text-muted-foreground hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
              >
                {org.name}
              </Link>
            ) : loading ? (
              <SkeletonLine className="h-5" barClassName="h-3.5 w-24" />
            ) : null}
          </div>
          {session.data ? (
            <span className="hidden truncate text-sm text-muted-foreground md:inline">{session.data.user.email}</span>
          ) : null}
          <Button
            variant="ghost"
            size="sm"
            disabled={logOut.isPending}
            onClick={() => logOut.mutate(undefined, { onSettled: () => void navigate("/login", { replace: true }) })}
          >
            <LogOut aria-hidden="true" />
            Log out
          </Button>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-5xl px-4 py-6 sm:px-6 sm:py-8">
        <Outlet />
      </main>
    </div>
  );
}
