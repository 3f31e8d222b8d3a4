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

  it("leaves other pages, and a build without a manifest, as built", () => {
    expect(pageHtml(webRoot(true))("/login")).toBe(INDEX);
    expect(pageHtml(webRoot(false))("/groups/3f0c/billing")).toBe(INDEX);
  });
});
