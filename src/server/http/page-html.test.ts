import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pageHtml } from "./page-html.js";

const INDEX = `<html>\n  <head>\n    <script type="module" crossorigin src="/assets/index-A.js"></script>\n    <link rel="modulepreload" crossorigin href="/assets/shared-S.js">\n  </head>\n  <body></body>\n</html>\n`;
const MANIFEST = {
  "index.html": { file: "assets/index-A.js", isEntry: true, imports: ["_shared-S.js"] },
  "_shared-S.js": { file: "assets/shared-S.js" },
  "_card-C.js": { file: "assets/card-C.js", imports: ["index.html", "_shared-S.js"] },
  "app/routes/group.tsx": { file: "assets/group-G.js", imports: ["index.html", "_card-C.js"] },
  "app/routes/login.tsx": { file: "assets/login-L.js", imports: ["index.html", "_card-C.js"] },
};

const dirs: string[] = [];
function webRoot(withManifest: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "gb-page-html-"));
  dirs.push(dir);
  writeFileSync(join(dir, "index.html"), INDEX);
  if (withManifest) {
    mkdirSync(join(dir, ".vite"));
    writeFileSync(join(dir, ".vite/manifest.json"), JSON.stringify(MANIFEST));
  }
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const preloads = (html: string) => [...html.matchAll(/rel="modulepreload" crossorigin href="\/([^"]+)"/g)].map((m) => m[1]);

describe("the page's HTML", () => {
  it("preloads a group page's route chunks with the entry, each once, and not what the entry already loads", () => {
    const html = pageHtml(webRoot(true))("/groups/3f0c/billing");
    expect(preloads(html)).toEqual(["assets/shared-S.js", "assets/group-G.js", "assets/card-C.js"]);
    expect(html).toMatch(/<\/head>\s*<body>/);
  });

  it("preloads the billing page's data as the page asks for it: the months in the address, else the usage of this UTC month and every month's invoices", () => {
    const html = pageHtml(webRoot(true));
    const id = "3f0c5b0e-8d8a-4c1e-9a57-2f4c8d0e6b11";
    const data = (search: string, now: Date) => [...html(`/groups/${id}/billing`, new URLSearchParams(search), now).matchAll(/rel="preload" as="fetch" crossorigin href="([^"]+)"/g)].map((m) => m[1]);
    const group = `/api/groups/${id}`;
    const fixed = [`/api/session`, `/api/orgs`, group, `${group}/billing`];
    expect(data("", new Date("2026-12-31T23:59:59.999Z"))).toEqual([...fixed, `${group}/billing/usage?month=2026-12`, `${group}/billing/invoices`, `${group}/billing/settings`]);
    expect(data("", new Date("2027-01-01T00:00:00.000Z"))).toContain(`${group}/billing/usage?month=2027-01`);
    expect(data("usage=2026-03&month=2025-11", new Date())).toEqual([...fixed, `${group}/billing/usage?month=2026-03`, `${group}/billing/invoices?month=2025-11`, `${group}/billing/settings`]);
    // What the page would not take as a month, it does not ask for either.
    expect(data("usage=2026-13&month=<script>", new Date("2026-05-02T00:00:00Z"))).toEqual([...fixed, `${group}/billing/usage?month=2026-05`, `${group}/billing/invoices`, `${group}/billing/settings`]);
    expect(preloads(html(`/groups/${id}/billing`))).toEqual(["assets/shared-S.js", "assets/group-G.js", "assets/card-C.js"]);
    // No data for a group's other pages, nor for an address that holds no group id.
    expect(html(`/groups/${id}`)).not.toContain('as="fetch"');
    expect(html("/groups/3f0c/billing")).not.toContain('as="fetch"');
    expect(html(`/groups/${id}/billing/x`)).not.toContain('as="fetch"');
  });

  it("leaves other pages, and a build without a manifest, as built", () => {
    expect(pageHtml(webRoot(true))("/login")).toBe(INDEX);
    expect(pageHtml(webRoot(false))("/groups/3f0c/billing")).toBe(INDEX);
  });
});
