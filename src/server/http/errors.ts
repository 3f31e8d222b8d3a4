import type { ErrorCode } from "../../contracts/common.js";

type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 413 | 429 | 500 | 503;

const STATUS: Record<ErrorCode, ErrorStatus> = {
  invalid_request: 400,
  unauthenticated: 401,
  insufficient_credits: 402,
  payment_failed: 402,
  pool_cap_reached: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  billing_not_enabled: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  billing_unavailable: 503,
  service_unavailable: 503,
};

/** The HTTP status of an error code (the only place codes meet statuses). */
export const statusOf = (code: ErrorCode): ErrorStatus => STATUS[code];
