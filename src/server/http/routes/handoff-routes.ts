import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../errors.js";
import { createHandoffVerifier, safeNextPath, signInWithHandoff } from "../../modules/operator/handoff.js";
import type { AppDeps, AppEnv } from "../context.js";
import { setSessionCookie } from "../middleware.js";
import { createRouter } from "../openapi.js";

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A plain page (no app bundle): the person came from the platform and should go back there. */
function errorPage(c: Context<AppEnv>, status: 401 | 404, title: string, message: string) {
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  return c.html(
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(title)} · Group Billing</title>
<style>
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; padding: 24px; box-sizing: border-box;
         background: #fafafa; color: #09090b; font: 16px/1.5 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { max-width: 28rem; width: 100%; background: #fff; border: 1px solid #e4e4e7; border-radius: 12px; padding: 32px;
         box-shadow: 0 1px 2px rgb(0 0 0 / 0.05); box-sizing: border-box; }
  h1 { font-size: 1.25rem; font-weight: 600; margin: 0 0 8px; }
  p { margin: 0 0 16px; color: #52525b; font-size: 0.9375rem; }
  a { color: #18181b; font-weight: 500; font-size: 0.875rem; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p>Go back to your platform and open Billing again to get a new sign-in link.</p>
<a href="/login">Sign in with a password instead</a>
</main>
</body>
</html>`,
    status,
  );
}

/**
 * Sign-in from the host platform: `GET /auth/handoff?token=<JWT>&next=<path>`. A valid token gets a
 * session cookie and a redirect to `next` (only ever a path of ours); anything else a plain 401 page.
 */
export function handoffRoutes(deps: AppDeps) {
  const app = createRouter();
  const verify = createHandoffVerifier({ secret: deps.config.OPERATOR_SIGNING_SECRET, jwksUrl: deps.config.OPERATOR_JWKS_URL });

  // Documented only: the route answers people, not programs (a redirect, or an HTML page on failure).
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/auth/handoff",
    tags: ["operator"],
    summary: "Sign in from the host platform",
    description:
      "A JWT signed with OPERATOR_SIGNING_SECRET (HS256) or a key of OPERATOR_JWKS_URL (RS256); claims sub (the user's externalId), email, name, exp (at most 5 minutes ahead) and jti (single use).",
    request: {
      query: z.object({
        token: z.string().max(8192).openapi({ description: "The signed sign-in token" }),
        next: z.string().optional().openapi({ description: "A path of ours to land on; anything else lands on /" }),
      }),
    },
    responses: {
      302: { description: "Signed in: a session cookie and a redirect to `next`" },
      401: { description: "An HTML page: the token is expired, replayed, wrongly signed or names an unknown user; nothing is created" },
      404: { description: "An HTML page: this installation does not accept sign-in links (no OPERATOR_SIGNING_SECRET or OPERATOR_JWKS_URL)" },
    },
  });
  app.get("/auth/handoff", async (c) => {
    if (!verify) return errorPage(c, 404, "Sign-in from the platform is not set up", "This installation does not accept sign-in links.");
    const token = c.req.query("token");
    if (!token || token.length > 8192) return errorPage(c, 401, "Sign-in link not valid", "This sign-in link is not valid.");
    try {
      const { token: session } = await signInWithHandoff({ db: deps.database.db, verify, token, ttlHours: deps.config.SESSION_TTL_HOURS });
      setSessionCookie(c, deps, session);
    } catch (err) {
      if (err instanceof AppError && err.code === "unauthenticated") {
        c.get("log")?.info({ reason: err.message }, "handoff refused");
        return errorPage(c, 401, "Sign-in link not valid", err.message);
      }
      throw err;
    }
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    return c.redirect(safeNextPath(c.req.query("next")), 302);
  });
  return app;
}
