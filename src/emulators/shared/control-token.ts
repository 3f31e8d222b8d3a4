import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "hono";

/**
 * The emulators' control endpoints (faults, declines, test-clock advances, the dashboard) answer
 * only to the per-run control token: in this header for API calls, or as the `control_token`
 * field of a dashboard form (the dashboard itself is opened with `?control_token=`). A page on
 * another site cannot read the token, so it cannot drive the emulator for a visitor.
 */
export const CONTROL_TOKEN_HEADER = "x-emulator-control-token";
export const CONTROL_TOKEN_FIELD = "control_token";

export function newControlToken(): string {
  return `emu_${randomBytes(24).toString("base64url")}`;
}

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function presentedToken(c: Context): Promise<string> {
  const header = c.req.header(CONTROL_TOKEN_HEADER);
  if (header) return header;
  if (c.req.method === "GET") return c.req.query(CONTROL_TOKEN_FIELD) ?? "";
  const type = c.req.header("content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
    const form = await c.req.parseBody();
    const field = form[CONTROL_TOKEN_FIELD];
    return typeof field === "string" ? field : "";
  }
  return "";
}

/** Middleware: 401 unless the request carries the control token. */
export function requireControlToken(token: string) {
  return async (c: Context, next: Next) => {
    if (!sameSecret(await presentedToken(c), token)) {
      return c.json(
        {
          error: {
            type: "invalid_request_error",
            code: "control_token_required",
            message: `Emulator controls need the control token printed at start, in the ${CONTROL_TOKEN_HEADER} header.`,
          },
        },
        401,
      );
    }
    await next();
  };
}
