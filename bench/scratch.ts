import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import pg from "pg";
import { openDatabase, type Database } from "../src/server/db/client.js";
import { runMigrations } from "../src/server/db/migrate.js";
import { OPERATOR_KEY } from "../tests/support/process.js";

/** A fresh, migrated database on the server of DATABASE_URL (the admin URL), for a one-off bench tool. */
export async function scratchDatabase(prefix: string): Promise<{ name: string; url: string; database: Database; drop: () => Promise<void> }> {
  const admin = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const name = `${prefix}_${randomBytes(3).toString("hex")}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`create database ${name}`);
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString(), poolSize: 4 });
  await runMigrations(database);
  return {
    name,
    url: u.toString(),
    database,
    drop: async () => {
      await database.close();
      await run(`drop database if exists ${name} with (force)`);
    },
  };
}

/** A compiled API process (`dist/server/server/main.js` under `cwd`), once it serves; killed by `child.kill()`. */
export function spawnCompiledApi(cwd: string, env: Record<string, string>, nodeArgs: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "dist/server/server/main.js"], {
    cwd,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", DEMO_DATA: "0", OPERATOR_API_KEY: OPERATOR_KEY, DATA_DIR: "/tmp/gb-bench-unused", ...env, LOG_FORMAT: "json", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const err: string[] = [];
  child.stderr!.on("data", (d: Buffer) => err.push(d.toString()));
  return new Promise<{ url: string; pid: number; child: ChildProcess }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start in ${cwd}: ${err.join("")}`)), 40_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes("Group Billing is running")) {
        clearTimeout(t);
        resolve({ url: (JSON.parse(line) as { url: string }).url.replace("localhost", "127.0.0.1"), pid: child.pid!, child });
      }
    });
  });
}
