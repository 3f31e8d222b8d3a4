import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * One HTTP call to the partner API under a single deadline, telling apart the two ways it can
 * fail without an answer:
 * - `not_sent`: the connection was refused or never opened (DNS, connect timeout); the partner
 *   cannot have acted on the request.
 * - `no_answer`: the request was written to the connection but no complete answer came back
 *   (timeout, reset, closed); the partner may have acted on it.
 */
export type PartnerHttpOutcome =
  | { kind: "answer"; status: number; body: unknown }
  | { kind: "not_sent"; reason: "timeout" | "unreachable"; cause: unknown }
  | { kind: "no_answer"; reason: "timeout" | "connection_lost"; cause: unknown };

export function partnerHttp({
  url,
  method,
  headers,
  body,
  timeoutMs,
}: {
  url: URL;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}): Promise<PartnerHttpOutcome> {
  return new Promise((resolve) => {
    let sent = false;
    let settled = false;
    const finish = (outcome: PartnerHttpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const failure = (reason: "timeout" | "other", cause: unknown): PartnerHttpOutcome =>
      sent
        ? { kind: "no_answer", reason: reason === "timeout" ? "timeout" : "connection_lost", cause }
        : { kind: "not_sent", reason: reason === "timeout" ? "timeout" : "unreachable", cause };

    const requestFn = url.protocol === "https:" ? httpsRequest : httpRequest;
    const payload = body === undefined ? undefined : Buffer.from(body, "utf8");
    const req = requestFn(url, {
      method,
      headers: { ...headers, ...(payload ? { "content-length": String(payload.length) } : {}) },
      agent: false,
    });
    const timer = setTimeout(() => {
      finish(failure("timeout", new Error(`No answer within ${timeoutMs} ms`)));
      req.destroy();
    }, timeoutMs);

    // "finish": the whole request has been handed to the connection, so the partner may act on it.
    req.once("finish", () => {
      sent = true;
    });
    req.once("error", (error) => finish(failure("other", error)));
    req.once("response", (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("error", (error) => finish(failure("other", error)));
      response.once("aborted", () => finish(failure("other", new Error("response aborted"))));
      response.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        finish({ kind: "answer", status: response.statusCode ?? 0, body: text === "" ? null : parseJson(text) });
      });
    });
    req.end(payload);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
