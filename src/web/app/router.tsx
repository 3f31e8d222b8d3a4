import { lazy, Suspense, useEffect } from "react";
import { BrowserRouter, Route, Routes, useLocation, useNavigate } from "react-router";
import { setUnauthenticatedHandler } from "./query-client.js";
import { AppShell } from "./app-shell.js";
import { RouteErrorBoundary } from "./route-error-boundary.js";

// Each page is its own chunk; the declarative router keeps the shared bundle small.
const LoginRoute = lazy(async () => ({ default: (await import("./routes/login.js")).LoginRoute }));
const HomeRoute = lazy(async () => ({ default: (await import("./routes/home.js")).HomeRoute }));
const OrgGroupsRoute = lazy(async () => ({ default: (await import("./routes/org-groups.js")).OrgGroupsRoute }));
const GroupOverviewRoute = lazy(async () => ({ default: (await import("./routes/group.js")).GroupOverviewRoute }));
const GroupBillingRoute = lazy(async () => ({ default: (await import("./routes/group.js")).GroupBillingRoute }));
const NotFoundRoute = lazy(async () => ({ default: (await import("./routes/not-found.js")).NotFoundRoute }));

/** Sends the user to /login whenever the API answers 401. */
function RedirectWhenUnauthenticated() {
  const navigate = useNavigate();
  const { pathname } = useLocation();
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      if (pathname !== "/login") void navigate("/login", { replace: true });
    });
  }, [navigate, pathname]);
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
