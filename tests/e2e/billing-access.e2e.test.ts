import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD, fillLogin, login, screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

/** The id of a demo group, looked up through the API as the org admin. */
async function groupId(name: string): Promise<string> {
  const { server } = app();
  const session = await fetch(`${server.baseUrl}/api/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: "org-admin@demo.test", password: DEMO_PASSWORD }),
  });
  const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const get = async <T>(path: string) => (await (await fetch(`${server.baseUrl}${path}`, { headers: { cookie } })).json()) as T;
  const { orgs } = await get<{ orgs: { id: string }[] }>("/api/orgs");
  for (const org of orgs) {
    const { groups } = await get<{ groups: { id: string; name: string }[] }>(`/api/orgs/${org.id}/groups`);
    const group = groups.find((g) => g.name === name);
    if (group) return group.id;
  }
  throw new Error(`no demo group named ${name}`);
}

describe("who sees what", () => {
  it("rejects a wrong password with a clear message", async () => {
    const { page } = app();
    await page.goto("/login");
    await page.getByLabel("Email").fill("org-admin@demo.test");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await shows(page.getByRole("alert").filter({ hasText: "Invalid email or password" }));
    await screenshots(page, "login-error");
  });

  it("sends a visitor without a session to /login, and back to the page asked for after signing in", async () => {
    const { page } = app();
    const id = await groupId("Online Stores");
    await page.goto(`/groups/${id}/billing?month=2026-01`);
    await page.waitForURL(/\/login\?next=/);
    expect(new URL(page.url()).searchParams.get("next")).toBe(`/groups/${id}/billing?month=2026-01`);
    await fillLogin(page, "org-admin@demo.test");
    await page.waitForURL((url) => url.pathname === `/groups/${id}/billing`);
    expect(new URL(page.url()).searchParams.get("month")).toBe("2026-01");
    await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));
  });

  it("never sends the user to another site after signing in", async () => {
    const { page } = app();
    await page.goto("/login?next=//evil.example/steal");
    await fillLogin(page, "org-admin@demo.test");
    await page.waitForURL(/\/orgs\/[^/]+\/groups$/);
    expect(new URL(page.url()).origin).toBe(app().server.baseUrl);
  });

  it("lists the demo accounts on the login page and fills the form with one", async () => {
    const { page } = app();
    await page.goto("/login");
    const demo = page.getByRole("region", { name: "Demo accounts" });
    await shows(demo);
    await shows(demo.getByText("demo-password", { exact: true }));
    for (const email of ["org-admin@demo.test", "group-admin@demo.test", "member@demo.test", "partner-admin@demo.test", "outsider@demo.test"]) {
      await shows(demo.getByRole("button", { name: `Use ${email}` }));
    }
    await screenshots(page, "login-demo");
    await demo.getByRole("button", { name: "Use partner-admin@demo.test" }).click();
    expect(await page.getByLabel("Email").inputValue()).toBe("partner-admin@demo.test");
    expect(await page.getByLabel("Password").inputValue()).toBe(DEMO_PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/orgs\/[^/]+\/groups$/);
    await shows(page.getByRole("link", { name: "Agency Clients", exact: true }));
  });

  it("leaves /login for the groups page when already signed in", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await page.goto("/login");
    await page.waitForURL(/\/orgs\/[^/]+\/groups$/);
    expect(await page.getByLabel("Password").count()).toBe(0);
    const id = await groupId("Online Stores");
    await page.goto(`/login?next=${encodeURIComponent(`/groups/${id}/billing`)}`);
    await page.waitForURL((url) => url.pathname === `/groups/${id}/billing`);
  });

  it("tells a plain member that billing is for admins only, on a plain page without tabs or offers, asking once", async () => {
    const { page } = app();
    const id = await groupId("Online Stores");
    await login(page, "member@demo.test");
    const requests: string[] = [];
    page.on("request", (req) => {
      if (req.url().includes(`/api/groups/${id}`)) requests.push(new URL(req.url()).pathname);
    });
    await page.goto(`/groups/${id}/billing`);
    await shows(page.getByRole("heading", { name: /admins only/ }));
    expect(await page.getByRole("button", { name: /Add (More )?Credits/ }).count()).toBe(0);
    expect(await page.getByRole("tab").count()).toBe(0);
    expect(await page.getByText("Buy credits once for the whole group instead of for every website.").count()).toBe(0);
    await shows(page.getByRole("link", { name: "Go to your groups" }));
    await page.waitForLoadState("networkidle");
    // Each failing request (403) is sent once, not retried or asked again by the next component.
    expect(requests.filter((path) => path === `/api/groups/${id}`)).toHaveLength(1);
    expect(requests.filter((path) => path === `/api/groups/${id}/billing`).length).toBeLessThanOrEqual(1);
    await screenshots(page, "billing-member");
  });

  it("says Group not found for an address that is not a group, without asking the server", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    const requests: string[] = [];
    page.on("request", (req) => {
      if (req.url().includes("/api/groups/")) requests.push(req.url());
    });
    await page.goto("/groups/not-a-uuid/billing");
    await shows(page.getByRole("heading", { name: "Group not found" }));
    expect(await page.getByText(/Billing is unavailable/).count()).toBe(0);
    expect(await page.getByRole("tab").count()).toBe(0);
    await page.waitForLoadState("networkidle");
    expect(requests).toEqual([]);
    await screenshots(page, "group-not-found");
  });

  it("lets a group admin manage the billing of their group", async () => {
    const { page } = app();
    await login(page, "group-admin@demo.test");
    await page.getByRole("link", { name: "Marketing Sites", exact: true }).click();
    await shows(page.getByRole("heading", { name: /^(Billing|Group credits)$/, level: 1 }));
    await shows(page.getByRole("button", { name: "Enable Billing" }).or(page.getByRole("button", { name: /Add (More )?Credits/ })));
  });

  it("hides another organization's group, asking the server once", async () => {
    const { page } = app();
    const id = await groupId("Online Stores");
    await login(page, "outsider@demo.test");
    const requests: string[] = [];
    page.on("request", (req) => {
      if (new URL(req.url()).pathname === `/api/groups/${id}`) requests.push(req.url());
    });
    await page.goto(`/groups/${id}/billing`);
    await shows(page.getByRole("heading", { name: "Group not found" }));
    expect(await page.getByRole("tab").count()).toBe(0);
    await page.waitForLoadState("networkidle");
    expect(requests).toHaveLength(1);
  });

  it("logs out from the top bar", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login$/);
    await page.goto("/");
    await page.waitForURL(/\/login$/);
  });
});
