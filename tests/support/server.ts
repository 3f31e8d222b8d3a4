import { loadConfig, type Config } from "../../src/server/config.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { Client } from "./http.js";
import { createTestDatabase } from "./database.js";

export interface TestServer extends RunningServer {
  db: RunningServer["deps"]["database"]["db"];
  databaseUrl: string | null;
  client(headers?: Record<string, string>): Client;
}

/** The real server on a free port with a fresh database of the kind TEST_DB names. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const testDb = await createTestDatabase();
  const config: Config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", DATA_DIR: "/tmp/gb-test-unused", ...env });
  const running = await startServer({ config, database: testDb.database });
  return {
    ...running,
    db: testDb.database.db,
    databaseUrl: testDb.url,
    client: (headers) => new Client(running.url, headers),
    close: async () => {
      await running.close();
      await testDb.drop();
    },
  };
}
