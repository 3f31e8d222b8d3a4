import type { Logger } from "pino";
import type { DemoResponse } from "../../contracts/session.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import type { RequestLog } from "./frame.js";
import type { Principal } from "../modules/access/access-service.js";
import type { ApiKeyVerifier } from "../modules/access/api-key-verifier.js";

/** Everything a route may use; built once at start and passed to createApp. */
export interface AppDeps {
  database: Database;
  config: Config;
  logger: Logger;
  /** Now, for every time-dependent rule (tests set it). */
  clock: Clock;
  /** Where the browser reaches this server, e.g. http://localhost:3000. */
  publicUrl: string;
  /** API keys, cached in this process and dropped the moment any process revokes one. */
  apiKeys: ApiKeyVerifier;
  /**
   * This process's startup state: until `ready` (migrations and demo data done), `/readyz` answers 503
   * and sign-ins answer 503, so nobody signs in to a half-loaded demo. Absent means ready.
   */
  startup?: { ready: boolean };
  /** The demo's sign-ins while the demo data is loaded (set by main.ts after seeding); shown on the login page. */
  demo?: DemoResponse["demo"];
}

export interface AppEnv {
  Variables: {
    /** The page's requests only; machine routes log through the error handler. */
    log: RequestLog;
    principal: Principal;
    sessionToken: string;
    apiOrgId: string;
    /** An API key read from the cache without waiting for notifications: the debit confirms it (requireApiKey). */
    apiKeyToConfirm?: string;
    /** The request carries the operator key (the host platform). */
    operator: boolean;
    /** The request failed with an unexpected error that the failure log has counted. */
    failureLogged: boolean;
  };
}
