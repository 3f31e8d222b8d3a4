import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isYearMonth } from "../../contracts/common.js";

type ManifestChunk = { file: string; isEntry?: boolean; imports?: string[] };

/** The route module of a group's pages: the billing page is where people land (Checkout returns there). */
const GROUP_ROUTE = "app/routes/group.tsx";

/**
 * The page's index.html for a client-side path. A group's pages get `<link rel="modulepreload">`
 * for the group route's chunks (from Vite's manifest), so the browser fetches and compiles them
 * beside the entry instead of asking for them once the entry has run; a group's billing page also
 * gets `<link rel="preload" as="fetch">` for the data its first render shows (`billingData`).
 */
export function pageHtml(webRoot: string): (path: string, search?: URLSearchParams, now?: Date) => string {
  const index = readFileSync(join(webRoot, "index.html"), "utf8");
  const manifestFile = join(webRoot, ".vite/manifest.json");
  if (!existsSync(manifestFile)) return () => index;
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, ManifestChunk>;
  const chunksOf = (key: string, into = new Set<string>()) => {
    const chunk = manifest[key];
    if (chunk && !into.has(chunk.file)) {
      into.add(chunk.file);
      for (const imported of chunk.imports ?? []) chunksOf(imported, into);
    }
    return into;
  };
  const entryKey = Object.keys(manifest).find((key) => manifest[key]!.isEntry);
  const inIndex = entryKey ? chunksOf(entryKey) : new Set<string>();
  const links = [...chunksOf(GROUP_ROUTE)].filter((file) => !inIndex.has(file)).map((file) => `<link rel="modulepreload" crossorigin href="/${file}">`);
  const withLinks = (tags: string[]) => index.replace("</head>", `  ${tags.join("\n    ")}\n  </head>`);
  const groupPage = withLinks(links);
  return (path, search = new URLSearchParams(), now = new Date()) => {
    const billing = GROUP_BILLING.exec(path);
    if (billing) return withLinks([...links, ...billingData(billing[1]!, search, now).map((url) => `<link rel="preload" as="fetch" crossorigin href="${url}">`)]);
    return path.startsWith("/groups/") ? groupPage : index;
  };
}

const GROUP_BILLING = /^\/groups\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/billing\/?$/i;

/**
 * What the billing page asks for on its first render (web/app/router.tsx preloadLanding, and
 * prefetch-billing-page.ts), at the very URLs the page will ask for: the browser requests them
 * while the page's script downloads (at 60 ms instead of 500 ms here), and the page's fetch takes
 * the preloaded answer (same URL and credentials mode: `crossorigin`). The e2e test "asks for the
 * page's data once each" holds the two lists together. A group without billing leaves the last
 * three unused; a usage month that the browser's clock places in another month than ours is asked
 * for twice.
 */
function billingData(groupId: string, search: URLSearchParams, now: Date): string[] {
  const month = (name: string) => {
    const value = search.get(name);
    return value && isYearMonth(value) ? value : null;
  };
  const group = `/api/groups/${groupId}`;
  const invoicesMonth = month("month");
  return [
    "/api/session",
    "/api/orgs",
    group,
    `${group}/billing`,
    `${group}/billing/usage?month=${month("usage") ?? now.toISOString().slice(0, 7)}`,
    `${group}/billing/invoices${invoicesMonth ? `?month=${invoicesMonth}` : ""}`,
    `${group}/billing/settings`,
  ];
}
