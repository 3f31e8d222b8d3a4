import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

const OPERATOR_KEY = "op_e2e_operator_key_0123456789";
const SECRET = "e2e-handoff-secret-0123456789-abcdefgh";
const app = useAppAndBrowser({ OPERATOR_API_KEY: OPERATOR_KEY, OPERATOR_SIGNING_SECRET: SECRET });

let groupId = "";

/** The platform syncs its customer the way the README shows: an organization, a group, two websites, a user. */
beforeAll(async () => {
  const { server } = app();
  const put = async (path: string, body: unknown) => {
    const r = await fetch(`${server.baseUrl}/api/operator${path}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${OPERATOR_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.status !== 200) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as { id: string };
  };
  await put("/orgs/org_1842", { name: "Acme Retail", partnerManaged: false });
  groupId = (await put("/orgs/org_1842/groups/grp_stores", { name: "Acme Stores" })).id;
  await put("/websites/site_shoes", { orgExternalId: "org_1842", groupExternalId: "grp_stores", name: "Acme Shoes", url: "https://shoes.acme.example" });
  await put("/websites/site_hats", { orgExternalId: "org_1842", groupExternalId: "grp_stores", name: "Acme Hats", url: "https://hats.acme.example" });
  await put("/users/user_77", {
    email: "dana@acme.example",
    name: "Dana Whitfield",
    memberships: [{ orgExternalId: "org_1842", role: "group_admin", groupExternalIds: ["grp_stores"] }],
  });
});

const token = (opts: { secret?: string; exp?: string | number } = {}) =>
  new SignJWT({ email: "dana@acme.example", name: "Dana Whitfield" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("user_77")
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "2m")
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
const handoffUrl = (jwt: string, next: string) => `/auth/handoff?token=${encodeURIComponent(jwt)}&next=${encodeURIComponent(next)}`;

describe("sign-in from the platform", () => {
  it("signs a synced user in and lands on their group's billing page", async () => {
    const { page } = app();
    await page.goto(handoffUrl(await token(), `/groups/${groupId}/billing`));
    await page.waitForURL(new RegExp(`/groups/${groupId}/billing$`));
    // A group whose billing is not enabled yet: its page offers to enable it.
    await shows(page.getByRole("heading", { name: "Billing", level: 1 }));
    await shows(page.getByRole("button", { name: "Enable Billing" }));
    await shows(page.getByText("dana@acme.example"));
    await shows(page.getByText("Acme Stores").first());
    await screenshots(page, "handoff-landing");
  });

  it("refuses the same link a second time with a plain page, and signs nobody in", async () => {
    const { page, server } = app();
    const jwt = await token();
    // The user opened the link once already (in another tab or browser).
    expect((await fetch(`${server.baseUrl}${handoffUrl(jwt, "/")}`, { redirect: "manual" })).status).toBe(302);
    const response = await page.goto(handoffUrl(jwt, `/groups/${groupId}/billing`));
    expect(response?.status()).toBe(401);
    await shows(page.getByRole("heading", { name: "Sign-in link not valid", level: 1 }));
    await shows(page.getByText("This sign-in link was already used."));
    await screenshots(page, "handoff-error");
    await page.goto(`/groups/${groupId}/billing`);
    // Not signed in: the login page, which will come back to the page asked for.
    await page.waitForURL((url) => url.pathname === "/login" && url.searchParams.get("next") === `/groups/${groupId}/billing`);
  });

  it("refuses an expired link and one signed with another secret", async () => {
    const { page } = app();
    const expired = await token({ exp: Math.floor(Date.now() / 1000) - 120 });
    expect((await page.goto(handoffUrl(expired, "/")))?.status()).toBe(401);
    await shows(page.getByText("This sign-in link has expired."));
    const forged = await token({ secret: "not-the-platform-secret-0123456789-xyz" });
    expect((await page.goto(handoffUrl(forged, "/")))?.status()).toBe(401);
    await shows(page.getByText("This sign-in link is not valid."));
    await page.goto("/");
    await page.waitForURL(/\/login$/);
  });

  it("never follows next off-site: a link to https://evil.example lands on our own start page", async () => {
    const { page, server } = app();
    await page.goto(handoffUrl(await token(), "https://evil.example"));
    await page.waitForURL(/\/orgs\/[^/]+\/groups$/);
    expect(new URL(page.url()).origin).toBe(server.baseUrl);
    await shows(page.getByRole("link", { name: "Acme Stores", exact: true }));
  });
});
