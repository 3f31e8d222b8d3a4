import { lazy, Suspense, useEffect } from "react";
import { BrowserRouter, Route, Routes, useLocation, useNavigate } from "react-router";
import { billingSummaryQueryOptions } from "../features/billing/api/get-billing-summary.js";
import { groupQueryOptions } from "../features/groups/api/get-group.js";
import { isUuid } from "../lib/ids.js";
import { loginPathFor } from "../lib/return-to.js";
import { queryClient, setUnauthenticatedHandler } from "./query-client.js";
import { AppShell } from "./app-shell.js";
import { RouteErrorBoundary } from "./route-error-boundary.js";

// Each page is its own chunk; the declarative router keeps the shared bundle small.
const LoginRoute = lazy(async () => ({ default: (await import("./routes/login.js")).LoginRoute }));
const HomeRoute = lazy(async () => ({ default: (await import("./routes/home.js")).HomeRoute }));
const OrgGroupsRoute = lazy(async () => ({ default: (await import("./routes/org-groups.js")).OrgGroupsRoute }));
const loadGroupRoutes = () => import("./routes/group.js");
// The billing page is the one people land on (Checkout returns there): fetch its chunk while the
// entry still runs instead of after the first render.
const landing = /^\/groups\/([^/]+)/.exec(window.location.pathname)?.[1];
if (landing) void loadGroupRoutes();
if (isUuid(landing)) {
  // ...and its data, in parallel with the chunk.
  const groupId = landing;
  void queryClient.prefetchQuery(groupQueryOptions(groupId));
  if (window.location.pathname.endsWith("/billing")) void queryClient.prefetchQuery(billingSummaryQueryOptions(groupId));
}
const GroupOverviewRoute = lazy(async () => ({ default: (await loadGroupRoutes()).GroupOverviewRoute }));
const GroupBillingRoute = lazy(async () => ({ default: (await loadGroupRoutes()).GroupBillingRoute }));
const ApiKeysRoute = lazy(async () => ({ default: (await import("./routes/api-keys.js")).ApiKeysRoute }));
const NotFoundRoute = lazy(async () => ({ default: (await import("./routes/not-found.js")).NotFoundRoute }));

/** Sends the user to /login whenever the API answers 401, remembering the page to come back to. */
function RedirectWhenUnauthenticated() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      if (location.pathname !== "/login") void navigate(loginPathFor(location), { replace: true });
    });
  }, [navigate, location]);
  return null;
}

export function AppRouter() {
  return (
    <BrowserRouter>
      <RedirectWhenUnauthenticated />
      <RouteErrorBoundary>
        <Suspense fallback={null}>
          <Routes>
            <Route path="/login" element={<LoginRoute />} />
            <Route element={<AppShell />}>
              <Route index element={<HomeRoute />} />
              <Route path="orgs/:orgId/groups" element={<OrgGroupsRoute />} />
              <Route path="orgs/:orgId/api-keys" element={<ApiKeysRoute />} />
              <Route path="groups/:groupId" element={<GroupOverviewRoute />} />
              <Route path="groups/:groupId/billing" element={<GroupBillingRoute />} />
              <Route path="*" element={<NotFoundRoute />} />
            </Route>
          </Routes>
        </Suspense>
      </RouteErrorBoundary>
    </BrowserRouter>
  );
}
