import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorBody } from "../../contracts/common.js";
import { MAX_JSON_BODY_BYTES, UsageBody } from "../../contracts/usage.js";
import { createFailureLog } from "../failure-log.js";
import type { UsageProcessor } from "../modules/credits/usage-processor.js";
import type { AppDeps } from "./context.js";
import { statusOf } from "./errors.js";
import { RequestLog, type Frame } from "./frame.js";
import { logMachineRequest, PRE_READ_BODY, readNodeBody } from "./middleware.js";
import { findBadText } from "./openapi.js";

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const PATH = "/api/v1/usage";
const INTERNAL = { error: { code: "internal_error", message: "Something went wrong on our side." } } satisfies ErrorBody;

/**
 * `POST /api/v1/usage` straight on Node's request and response (issue 15): the hottest route skips
 * the Web Request/Response adapters, the router and the middleware chain, and writes its answer
 * with precomputed headers. It answers what the route in usage-routes.ts would, byte for byte in
 * body and status: a well-formed request with a bearer key it knows, and the debit's outcome.
 * Anything else (no key or an unknown one, not JSON, a body too large or invalid) is handed to the
 * app with the body already read (`PRE_READ_BODY`), which answers it with its usual errors.
 * Measured in bench/prof-hot.ts and `npm run bench` section 1 (docs/performance.md).
 */
export function usageFastPath({ deps, frame, processor, app }: { deps: AppDeps; frame: Frame; processor: UsageProcessor; app: Listener }) {
  const failures = createFailureLog("requests are failing");
  const headers = Object.entries(frame.jsonHeaders).flat();

  const logOf = (req: IncomingMessage) => () => new RequestLog(deps.logger, req.headers["x-request-id"] as string | undefined);

  function write(res: ServerResponse, status: number, body: unknown, requestId: string | null) {
    const text = JSON.stringify(body);
    const length = String(Buffer.byteLength(text));
    res.writeHead(status, requestId ? [...headers, "content-length", length, "x-request-id", requestId] : [...headers, "content-length", length]);
    res.end(text);
  }
  /** An answer, with machine traffic's log line when it gets one (failures, slow requests). */
  function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, started: number) {
    write(res, status, body, logMachineRequest(deps, { method: "POST", path: PATH, status, started, log: logOf(req) }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, key: string) {
    const started = performance.now();
    let raw: Buffer;
    try {
      raw = await readNodeBody(req, MAX_JSON_BODY_BYTES);
    } catch {
      // Too large (the app answers 413 from the declared length) or the client went away.
      return void req.socket.destroy();
    }
    const found = await deps.apiKeys.verifyInTransaction(key).catch(() => null);
    let parsed: ReturnType<typeof UsageBody.safeParse> | null = null;
    try {
      parsed = UsageBody.safeParse(JSON.parse(raw.toString("utf8")));
    } catch {
      parsed = null;
    }
    if (!found || !parsed?.success || findBadText(parsed.data)) {
      (req as IncomingMessage & { [PRE_READ_BODY]?: Buffer })[PRE_READ_BODY] = raw;
      return app(req, res);
    }
    try {
      const outcome = await processor.submit({ ...parsed.data, orgId: found.orgId, apiKeyId: found.confirmed ? undefined : found.keyId });
      if (outcome.status === 200) return send(req, res, 200, outcome.result, started);
      send(req, res, statusOf(outcome.error.code), { error: outcome.error } satisfies ErrorBody, started);
    } catch (err) {
      // As app.ts does: class and code only, once per burst, and no second line per request.
      const log = logOf(req)();
      failures(err, (fields, msg) => log.error({ ...fields, method: "POST", path: PATH }, msg));
      write(res, 500, INTERNAL, log.writtenId);
    }
  }

  /** Answers the request (true) or leaves it to the app untouched (false). */
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || req.url !== PATH) return false;
    const auth = req.headers.authorization;
    const type = req.headers["content-type"];
    const length = req.headers["content-length"];
    if (!auth?.startsWith("Bearer ") || (type !== "application/json" && !type?.startsWith("application/json;"))) return false;
    if (length === undefined || req.headers["transfer-encoding"] !== undefined || Number(length) > MAX_JSON_BODY_BYTES) return false;
    handle(req, res, auth.slice(7).trim()).catch((err: unknown) => {
      // Nothing above should throw; if it does, the caller still gets an answer and the process lives.
      failures(err, (fields, msg) => deps.logger.error({ ...fields, method: "POST", path: PATH }, msg));
      if (!res.headersSent) write(res, 500, INTERNAL, null);
      else res.destroy();
    });
    return true;
  };
}
