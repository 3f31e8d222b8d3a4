import type { ErrorCode, ErrorDetails } from "../contracts/common.js";

/**
 * The one error type the server's modules throw. Its code names what went wrong; `http/` maps the
 * code to a status (`http/errors.ts`), so no module knows about HTTP.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** For `rate_limited`: when the caller may try again (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;
  /** What the caller needs to act on the error (sent as `error.details`), e.g. the unpaid invoice's link. */
  readonly details: ErrorDetails | undefined;
  constructor(code: ErrorCode, message: string, opts: { retryAfterSeconds?: number; details?: ErrorDetails } = {}) {
    super(message);
    this.code = code;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.details = opts.details;
  }
}

export const notFound = (what = "Resource") => new AppError("not_found", `${what} not found.`);
export const forbidden = (message = "You do not have access to this.") => new AppError("forbidden", message);
