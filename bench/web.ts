import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import type { BillingPage } from "./billing.js";
import { fmt, ROOT } from "./lib.js";
import { spawnCompiledApi } from "./scratch.js";
import type { BenchContext } from "./run.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Manifest keys are relative to the vite root (src/web). */
const ROUTE_MODULE = "app/routes/group.tsx";

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}

/**
 * `npx vite build` (with a manifest, into dist/web where the server serves it), then the JS the
 * billing route loads: the entry in index.html and its static imports, plus the route chunk
 * (routes/group.tsx, loaded by React.lazy) and its static imports.
 */
export function routeJs() {
  execFileSync("npx", ["vite", "build", "--logLevel", "warn", "--manifest"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const out = join(ROOT, "dist/web");
  const manifest = JSON.parse(readFileSync(join(out, ".vite/manifest.json"), "utf8")) as Record<string, ManifestChunk>;
  const html = readFileSync(join(out, "index.html"), "utf8");
  const entryFile = /<script type="module" crossorigin src="\/([^"]+)"/.exec(html)?.[1];
  const entryKey = Object.keys(manifest).find((k) => manifest[k]!.file === entryFile) ?? Object.keys(manifest).find((k) => manifest[k]!.isEntry)!;
  const files = new Set<string>();
  const css = new Set<string>();
  const walk = (key: string) => {
    const c = manifest[key];
    if (!c || files.has(c.file)) return;
    files.add(c.file);
    c.css?.forEach((x) => css.add(x));
    c.imports?.forEach(walk);
  };
  walk(entryKey);
  if (!manifest[ROUTE_MODULE]) throw new Error(`${ROUTE_MODULE} is not a chunk of the build`);
  if (!manifest[entryKey]!.dynamicImports?.some((d) => d === ROUTE_MODULE) && !Object.values(manifest).some((c) => c.dynamicImports?.includes(ROUTE_MODULE))) {
    console.warn(`(${ROUTE_MODULE} is not dynamically imported anywhere; counting it anyway)`);
  }
  walk(ROUTE_MODULE);
  const sized = [...files].map((f) => {
    const buf = readFileSync(join(out, f));
    return { file: f, raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
  });
  const cssSized = [...css].map((f) => ({ file: f, gzip: gzipSync(readFileSync(join(out, f)), { level: 9 }).length }));
  return { sized, cssSized };
}

async function measureLcp(base: string, page: BillingPage) {
  const profile = mkdtempSync(join(tmpdir(), "gb-bench-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const res = await context.request.post(`${base}/api/session`, { data: { email: page.email, password: page.password } });
    if (res.status() !== 200) throw new Error(`login failed: ${res.status()}`);
    const tab = context.pages()[0] ?? (await context.newPage());
    // BENCH_WEB_TRACE=DIR: a Chrome trace of each load (open in chrome://tracing or Perfetto).
    const traceDir = process.env.BENCH_WEB_TRACE;
    const cdp = traceDir ? await context.newCDPSession(tab) : undefined;
    const traced: object[] = [];
    if (cdp) {
      cdp.on("Tracing.dataCollected", (e: { value: object[] }) => traced.push(...e.value));
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
      await cdp.send("Tracing.start", { categories: "devtools.timeline,v8.execute,disabled-by-default-devtools.timeline,blink.user_timing,loading,disabled-by-default-v8.cpu_profiler", transferMode: "ReportEvents" });
    }
    const t0 = Date.now();
    await tab.goto(`${base}/groups/${page.groupId}/billing`, { waitUntil: "load" });
    await tab.waitForLoadState("networkidle");
    const wall = Date.now() - t0;
    if (cdp && traceDir) {
      const done = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
      await cdp.send("Tracing.end");
      await done;
      writeFileSync(join(traceDir, `lcp-${t0}.json`), JSON.stringify({ traceEvents: traced }));
      const { profile } = await cdp.send("Profiler.stop");
      writeFileSync(join(traceDir, `lcp-${t0}.cpuprofile`), JSON.stringify(profile));
    }
    await tab.waitForTimeout(300);
    const lcp = await tab.evaluate(
      () =>
        new Promise<{ startTime: number; element: string; size: number }>((resolve) => {
          new PerformanceObserver((list) => {
            const entries = list.getEntries() as (PerformanceEntry & { element?: Element | null; size: number })[];
            const last = entries[entries.length - 1]!;
            const el = last.element;
            resolve({
              startTime: last.startTime,
              size: last.size,
              element: el ? `<${el.tagName.toLowerCase()}> "${(el.textContent ?? "").trim().slice(0, 50)}"` : "(removed element)",
            });
          }).observe({ type: "largest-contentful-paint", buffered: true });
        }),
    );
    const nav = await tab.evaluate((keep) => {
      const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      // The slowest requests the page made, to tell what a late LCP waited for.
      const slowest = (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
        .sort((a, b) => b.responseEnd - a.responseEnd)
        .slice(0, keep)
        .map((r) => `${new URL(r.name).pathname.replace(/[0-9a-f-]{36}/g, "{id}")} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)} ms`);
      // The page measured must be the full one: a usage section in its empty state paints much less.
      const usage = document.body.innerText.includes("No website used the group") ? "EMPTY (no usage this month)" : "with its chart and websites";
      return { ttfb: n.responseStart, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, slowest, elements: document.getElementsByTagName("*").length, svgs: document.getElementsByTagName("svg").length, usage };
    }, Number(process.env.BENCH_WEB_REQUESTS ?? 3));
    return { ...lcp, ...nav, wall, url: tab.url() };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function benchWeb(ctx: BenchContext, page: BillingPage) {
  console.log("== 4. The page: /groups/{id}/billing (the 1,000-website group above)");
  const { sized, cssSized } = routeJs();
  const total = sized.reduce((a, b) => a + b.gzip, 0);
  console.log(`JavaScript the billing route loads (npx vite build; entry in dist/web/index.html + its imports + the route chunk ${ROUTE_MODULE} + its imports), gzip -9:`);
  for (const s of sized) console.log(`  ${s.file.padEnd(40)} ${fmt(s.raw / 1024, 1).padStart(8)} KB raw  ${fmt(s.gzip / 1024, 1).padStart(7)} KB gzip`);
  console.log(`  total: ${fmt(total / 1024, 1)} KB gzipped -> target <= 150 KB ${total <= 150 * 1024 ? "MET" : "MISSED"}   (CSS, not counted: ${cssSized.map((c) => `${c.file} ${fmt(c.gzip / 1024, 1)} KB`).join(", ")})`);

  const base = ctx.servers[0]!.url.replace("127.0.0.1", "localhost");
  if (process.env.BENCH_WEB_BEFORE) return abLcp(ctx, base, page, process.env.BENCH_WEB_BEFORE);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await measureLcp(base, page));
  for (const [i, r] of runs.entries()) {
    console.log(`  LCP run ${i + 1} (fresh profile, cold cache): ${r.startTime.toFixed(0)} ms, element ${r.element}; TTFB ${r.ttfb.toFixed(0)} ms, DOMContentLoaded ${r.domContentLoaded.toFixed(0)} ms, load ${r.load.toFixed(0)} ms, ${fmt(r.elements)} elements (${r.svgs} svg), usage section ${r.usage}, network idle after ${r.wall} ms (${r.url}); last answered: ${r.slowest.join(", ")}`);
  }
  const sorted = runs.map((r) => r.startTime).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`Largest Contentful Paint (headless Chromium, localhost, median of 3): ${median.toFixed(0)} ms -> target <= 1000 ms ${median <= 1000 ? "MET" : "MISSED"}`);
}

/**
 * BENCH_WEB_BEFORE=DIR (an earlier checkout, built: `node scripts/build.mjs` there): the LCP of its
 * page and of this one's, alternating on one database, BENCH_WEB_ROUNDS (5) loads of each.
 */
async function abLcp(ctx: BenchContext, base: string, page: BillingPage, dir: string) {
  const before = await spawnCompiledApi(dir, {
    DATABASE_URL: ctx.url,
    STRIPE_API_BASE: ctx.stripe.url,
    STRIPE_WEBHOOK_SECRET: "whsec_bench",
    PARTNER_API_BASE: "http://127.0.0.1:9",
    PARTNER_API_KEY: "unused",
  });
  try {
    const lcps = { before: [] as number[], after: [] as number[] };
    for (let round = 0; round < Number(process.env.BENCH_WEB_ROUNDS ?? 5); round++) {
      for (const which of ["before", "after"] as const) {
        const r = await measureLcp(which === "before" ? before.url.replace("127.0.0.1", "localhost") : base, page);
        lcps[which].push(r.startTime);
        console.log(`  ${which.padEnd(6)} LCP ${r.startTime.toFixed(0)} ms, element ${r.element}; load average ${loadavg()[0]!.toFixed(2)}`);
      }
    }
    for (const which of ["before", "after"] as const) {
      const sorted = [...lcps[which]].sort((a, b) => a - b);
      console.log(`${which}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms of ${sorted.map((x) => x.toFixed(0)).join(" / ")}`);
    }
  } finally {
    before.child.kill();
  }
}
