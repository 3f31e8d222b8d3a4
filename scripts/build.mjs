// Builds what `npm start` runs, only when a source is newer than its output:
//   the server: TypeScript compiled to JavaScript in dist/server (tsc, no type check: `npm run
//   typecheck` does that), with the SQL migrations copied beside it;
//   the page: `vite build` into dist/web.
// `node scripts/build.mjs` builds both if stale; `--force` rebuilds both.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
/** The compiled entry point: what `npm start` and the benchmark run with `node`. */
export const SERVER_MAIN = join(ROOT, "dist/server/server/main.js");
const SERVER_STAMP = join(ROOT, "dist/server/.built");
const WEB_INDEX = join(ROOT, "dist/web/index.html");

const SERVER_SOURCES = ["src/server", "src/contracts", "src/domain", "src/emulators", "tsconfig.json", "tsconfig.build.json", "scripts/build.mjs"];
const WEB_SOURCES = ["src/web", "src/contracts", "src/domain", "vite.config.ts", "package-lock.json", "tsconfig.json"];

/**
 * The newest modification time (ms) of the files under these paths.
 * @param {string[]} paths
 */
function newest(paths) {
  let max = 0;
  /** @param {string} p */
  const visit = (p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else if (st.mtimeMs > max) max = st.mtimeMs;
  };
  for (const p of paths) visit(join(ROOT, p));
  return max;
}

/** @param {string} file */
const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;

/**
 * @param {string} cmd
 * @param {string[]} args
 */
function run(cmd, args) {
  const bin = join(ROOT, "node_modules/.bin", cmd);
  const r = spawnSync(existsSync(bin) ? bin : cmd, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
}

export function buildServer() {
  rmSync(join(ROOT, "dist/server"), { recursive: true, force: true });
  run("tsc", ["-p", "tsconfig.build.json", "--noCheck"]);
  cpSync(join(ROOT, "src/server/db/migrations"), join(ROOT, "dist/server/server/db/migrations"), { recursive: true });
  writeFileSync(SERVER_STAMP, new Date().toISOString() + "\n");
}

export function buildWeb() {
  run("vite", ["build", "--logLevel", "warn"]);
}

/**
 * Builds what is stale; returns what it built.
 * @param {{ force?: boolean, web?: boolean }} [opts]
 */
export function ensureBuilt({ force = false, web = true } = {}) {
  /** @type {string[]} */
  const built = [];
  if (force || mtime(SERVER_STAMP) < newest(SERVER_SOURCES)) {
    buildServer();
    built.push("server");
  }
  if (web && (force || mtime(WEB_INDEX) < newest(WEB_SOURCES))) {
    buildWeb();
    built.push("web");
  }
  return built;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = ensureBuilt({ force: process.argv.includes("--force") });
  console.log(built.length ? `built: ${built.join(", ")}` : "up to date");
}
