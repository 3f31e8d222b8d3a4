import type { ErrorCode } from "../../contracts/common.js";

const STATUS: Record<ErrorCode, 400 | 401 | 402 | 403 | 404 | 409 | 429 | 500 | 503> = {
  invalid_request: 400,
  unauthenticated: 401,
  insufficient_credits: 402,
  payment_failed: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  billing_not_enabled: 409,
  rate_limited: 429,
  internal_error: 500,
  billing_unavailable: 503,
};

/** The one error type services throw; its code decides the HTTP status. */
export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
  get status() {
    return STATUS[this.code];
  }
}

export const notFound = (what = "Resource") => new AppError("not_found", `${what} not found.`);
export const forbidden = (message = "You do not have access to this.") => new AppError("forbidden", message);
