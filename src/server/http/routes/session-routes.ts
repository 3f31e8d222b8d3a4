import { createRoute } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { DemoResponse, LoginBody, LoginResponse, SessionResponse } from "../../../contracts/session.js";
import { login, logout } from "../../modules/access/access-service.js";
import { DEVICE_COOKIE, DEVICE_TTL_SECONDS } from "../../modules/access/device-cookie.js";
import { clientAddress } from "../client-address.js";
import type { AppDeps } from "../context.js";
import { SESSION_COOKIE, requireSession, setSessionCookie } from "../middleware.js";
import { createRouter, errorResponse, errorResponses, jsonBody, jsonResponse } from "../openapi.js";
import * as examples from "../openapi-examples.js";

export function sessionRoutes(deps: AppDeps) {
  const app = createRouter();

  app.openapi(
    createRoute({
      method: "post",
      path: "/api/session",
      tags: ["session"],
      summary: "Sign in with email and password",
      description:
        "Sets an HttpOnly session cookie and a device cookie (a later sign-in to the account from this browser goes first when sign-ins are busy). Failed attempts from one address (an IPv6 /64) are slowed down and then refused (429).",
      request: { body: jsonBody(LoginBody, examples.sessionLoginBody) },
      responses: {
        200: jsonResponse(LoginResponse, "Signed in", examples.sessionLoginResult),
        400: errorResponses[400],
        401: errorResponses[401],
        429: errorResponse("rate_limited: too many failed attempts from this address; see Retry-After"),
      },
    }),
    async (c) => {
      const { email, password } = c.req.valid("json");
      const { token, deviceToken, user } = await login({
        db: deps.database.db,
        email,
        password,
        ttlHours: deps.config.SESSION_TTL_HOURS,
        clientAddress: clientAddress(c, deps.config.TRUST_PROXY),
        deviceToken: getCookie(c, DEVICE_COOKIE),
        clock: deps.clock,
      });
      setSessionCookie(c, deps, token);
      // Only the sign-in endpoint reads it: a later sign-in to this account from this browser goes first.
      setCookie(c, DEVICE_COOKIE, deviceToken, {
        httpOnly: true,
        sameSite: "Strict",
        secure: deps.publicUrl.startsWith("https:"),
        path: "/api/session",
        maxAge: DEVICE_TTL_SECONDS,
      });
      c.header("Cache-Control", "no-store");
      return c.json({ user }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/demo",
      tags: ["session"],
      summary: "Demo sign-ins",
      description: "The demo accounts and their password while the demo data is loaded; `demo` is null otherwise.",
      responses: { 200: jsonResponse(DemoResponse, "The demo's accounts, or null") },
    }),
    (c) => c.json({ demo: deps.demo ?? null }, 200),
  );

  app.on(["GET", "DELETE"], "/api/session", requireSession(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/session",
      tags: ["session"],
      summary: "The signed-in user and their memberships",
      responses: { 200: jsonResponse(SessionResponse, "The signed-in user", examples.sessionResult), 401: errorResponses[401] },
    }),
    (c) => {
      const { user, memberships } = c.get("principal");
      return c.json({ user, memberships }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/api/session",
      tags: ["session"],
      summary: "Sign out",
      responses: { 204: { description: "Signed out" }, 401: errorResponses[401] },
    }),
    async (c) => {
      await logout({ db: deps.database.db, token: c.get("sessionToken") });
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.body(null, 204);
    },
  );
  return app;
}
