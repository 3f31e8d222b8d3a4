import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

type ManifestChunk = { file: string; isEntry?: boolean; imports?: string[] };

/** The route module of a group's pages: the billing page is where people land (Checkout returns there). */
const GROUP_ROUTE = "app/routes/group.tsx";

/**
 * The page's index.html for a client-side path. A group's pages get `<link rel="modulepreload">`
 * for the group route's chunks (from Vite's manifest), so the browser fetches and compiles them
 * beside the entry instead of asking for them once the entry has run.
 */
export function pageHtml(webRoot: string): (path: string) => string {
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
  const groupPage = index.replace("</head>", `  ${links.join("\n    ")}\n  </head>`);
  return (path) => (path.startsWith("/groups/") ? groupPage : index);
}
