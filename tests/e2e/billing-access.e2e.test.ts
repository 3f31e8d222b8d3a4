import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD, login, screenshots, shows } from "./support/browser.js";
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

  it("sends a visitor without a session to /login", async () => {
    const { page } = app();
    await page.goto(`/groups/${await groupId("Online Stores")}/billing`);
    await page.waitForURL(/\/login$/);
    await shows(page.getByLabel("Email"));
  });

  it("tells a plain member that billing is for admins only", async () => {
    const { page } = app();
    const id = await groupId("Online Stores");
    await login(page, "member@demo.test");
    await page.goto(`/groups/${id}/billing`);
    await shows(page.getByRole("heading", { name: /admins only/ }));
    expect(await page.getByRole("button", { name: /Add (More )?Credits/ }).count()).toBe(0);
    await screenshots(page, "billing-member");
  });

  it("lets a group admin manage the billing of their group", async () => {
    const { page } = app();
    await login(page, "group-admin@demo.test");
    await page.getByRole("link", { name: "Marketing Sites", exact: true }).click();
    await shows(page.getByRole("heading", { name: /^(Billing|Group credits)$/, level: 1 }));
    await shows(page.getByRole("button", { name: "Enable Billing" }).or(page.getByRole("button", { name: /Add (More )?Credits/ })));
  });

  it("hides another organization's group", async () => {
    const { page } = app();
    const id = await groupId("Online Stores");
    await login(page, "outsider@demo.test");
    await page.goto(`/groups/${id}/billing`);
    await shows(page.getByRole("heading", { name: "Group not found" }));
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
