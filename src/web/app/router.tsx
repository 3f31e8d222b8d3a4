import { lazy, Suspense, useEffect, useState, type ComponentType } from "react";
import { BrowserRouter, matchPath, Route, Routes, useLocation, useNavigate } from "react-router";
import { sessionQueryOptions } from "../features/auth/api/get-session.js";
import { prefetchBillingPage } from "../features/billing/api/prefetch-billing-page.js";
import { orgsQueryOptions } from "../features/groups/api/get-orgs.js";
import { groupQueryOptions } from "../features/groups/api/get-group.js";
import { isUuid } from "../lib/ids.js";
import { loginPathFor } from "../lib/return-to.js";
import { queryClient, setUnauthenticatedHandler } from "./query-client.js";
import { AppShell } from "./app-shell.js";
import { RouteErrorBoundary } from "./route-error-boundary.js";

/**
 * A page in its own chunk (the declarative router keeps the shared bundle small). Once the chunk is
 * in, the page renders directly: a lazy component suspends on its first render even when its chunk
 * has arrived, and React holds back the content of a boundary that showed its fallback for 300 ms.
 */
function pageChunk<M>(load: () => Promise<M>, pick: (module: M) => ComponentType) {
  let ready: ComponentType | undefined;
  const preload = () => load().then((module) => (ready = pick(module)));
  const Lazy = lazy(async () => ({ default: await preload() }));
  function Page() {
    // Chosen once: switching from the lazy wrapper to the page itself would remount it.
    const [Component] = useState<ComponentType>(() => ready ?? Lazy);
    return <Component />;
  }
  return { Page, preload };
}

const loadGroupRoutes = () => import("./routes/group.js");

/** The app's pages by path: the routes below and the landing page's preload read this one table. */
const PAGES = {
  login: { path: "/login", ...pageChunk(() => import("./routes/login.js"), (m) => m.LoginRoute) },
  home: { path: "/", ...pageChunk(() => import("./routes/home.js"), (m) => m.HomeRoute) },
  orgGroups: { path: "/orgs/:orgId/groups", ...pageChunk(() => import("./routes/org-groups.js"), (m) => m.OrgGroupsRoute) },
  apiKeys: { path: "/orgs/:orgId/api-keys", ...pageChunk(() => import("./routes/api-keys.js"), (m) => m.ApiKeysRoute) },
  groupOverview: { path: "/groups/:groupId", ...pageChunk(loadGroupRoutes, (m) => m.GroupOverviewRoute) },
  groupBilling: { path: "/groups/:groupId/billing", ...pageChunk(loadGroupRoutes, (m) => m.GroupBillingRoute) },
  notFound: { path: "*", ...pageChunk(() => import("./routes/not-found.js"), (m) => m.NotFoundRoute) },
};

/** The page of the address the app opens on, with its path's parameters. */
function landingPage(pathname: string) {
  for (const page of Object.values(PAGES)) {
    const match = matchPath(page.path, pathname);
    if (match) return { page, params: match.params };
  }
  return { page: PAGES.notFound, params: {} };
}

/** How long the first render waits, once the page's code is in, for the data it shows. */
const DATA_WAIT_MS = 300;

/**
 * Fetches the landing page's chunk and the data its first render shows, in parallel. The app first
 * renders once the chunk is in and that data has come (or DATA_WAIT_MS later: then skeletons
 * stand in): one render and one layout of the whole page instead of one per answer, on a main
 * thread that the page's JavaScript keeps busy. A failed chunk renders anyway: the page's error
 * boundary shows the error.
 */
export async function preloadLanding(): Promise<void> {
  const { page, params } = landingPage(window.location.pathname);
  const { groupId } = params;
  const data: Promise<unknown>[] = [];
  if (page !== PAGES.login) {
    // The shell's header: who is logged in and their organizations.
    data.push(queryClient.prefetchQuery(sessionQueryOptions()), queryClient.prefetchQuery(orgsQueryOptions()));
  }
  if (isUuid(groupId)) {
    data.push(queryClient.prefetchQuery(groupQueryOptions(groupId)));
    if (page === PAGES.groupBilling) data.push(prefetchBillingPage(queryClient, groupId, new URLSearchParams(window.location.search)));
  }
  await page.preload().catch(() => undefined);
  await Promise.race([Promise.all(data), new Promise((resolve) => setTimeout(resolve, DATA_WAIT_MS))]);
}

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
            <Route path={PAGES.login.path} element={<PAGES.login.Page />} />
            <Route element={<AppShell />}>
              {[PAGES.home, PAGES.orgGroups, PAGES.apiKeys, PAGES.groupOverview, PAGES.groupBilling, PAGES.notFound].map(({ path, Page }) => (
                <Route key={path} path={path} element={<Page />} />
              ))}
            </Route>
          </Routes>
        </Suspense>
      </RouteErrorBoundary>
    </BrowserRouter>
  );
}
