import type { ErrorCode } from "../contracts/common.js";

/**
 * The one error type the server's modules throw. Its code names what went wrong; `http/` maps the
 * code to a status (`http/errors.ts`), so no module knows about HTTP.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** For `rate_limited`: when the caller may try again (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, opts: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.code = code;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export const notFound = (what = "Resource") => new AppError("not_found", `${what} not found.`);
export const forbidden = (message = "You do not have access to this.") => new AppError("forbidden", message);
