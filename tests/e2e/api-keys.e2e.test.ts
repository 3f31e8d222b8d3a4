import { describe, expect, it } from "vitest";
import { hides, login, screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

describe("API keys page", () => {
  it("creates a key shown once, spends credits with it, revokes it, and the key is refused from then on", async () => {
    const { page, server } = app();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
    await login(page, "org-admin@demo.test");
    const orgId = /\/orgs\/([^/]+)\/groups/.exec(page.url())?.[1] ?? "";

    // The website id the usage API takes is on the group's Overview tab.
    await page.getByRole("link", { name: "Online Stores", exact: true }).click();
    await page.getByRole("tab", { name: "Overview" }).click();
    const websiteIdText = page.getByText(/^Website id [0-9a-f-]{36}$/).first();
    await shows(websiteIdText);
    const websiteId = (await websiteIdText.locator("code").textContent()) ?? "";
    expect(websiteId).toMatch(/^[0-9a-f-]{36}$/);
    await screenshots(page, "group-overview-website-ids");
    await page.getByRole("link", { name: "Groups" }).click();

    await page.getByRole("link", { name: "API keys" }).click();
    await page.waitForURL(`**/orgs/${orgId}/api-keys`);
    await shows(page.getByRole("heading", { name: "API keys", level: 1 }));
    await shows(page.getByText("No API keys yet"));
    await screenshots(page, "api-keys-empty");

    // Create: the key is shown once, with a copy button.
    await page.getByRole("button", { name: "Create API key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create API key" });
    await dialog.getByLabel("Name").fill("Checkout service");
    await screenshots(page, "api-keys-create");
    await dialog.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByRole("dialog", { name: "Copy your new API key" });
    await shows(shown);
    const key = await shown.getByLabel("API key", { exact: true }).inputValue();
    expect(key).toMatch(/^gbk_/);
    await shown.getByRole("button", { name: "Copy API key" }).click();
    await shows(shown.getByText("Copied to the clipboard."));
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await screenshots(page, "api-keys-created");
    await shown.getByRole("button", { name: "Done" }).click();
    await hides(shown);

    // Listed by name and prefix; the key itself is nowhere on the page any more.
    const list = page.getByRole("list", { name: "API keys" });
    const row = list.getByRole("listitem").filter({ hasText: "Checkout service" });
    await shows(row);
    expect(key.startsWith((await row.locator("code").innerText()).replace("…", ""))).toBe(true);
    await shows(row.getByText(/^Created [A-Z][a-z]{2} \d{1,2}, \d{4} · (Never used|Last used .+)$/));
    expect(await page.content()).not.toContain(key);
    await screenshots(page, "api-keys-list");

    // Use it as a service would (curl-equivalent fetch) against the usage API.
    const spend = (idempotencyKey: string) =>
      page.evaluate(
        async ({ key, websiteId, idempotencyKey }) => {
          const res = await fetch("/api/v1/usage", {
            method: "POST",
            credentials: "omit",
            headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
            body: JSON.stringify({ websiteId, credits: 5, idempotencyKey }),
          });
          return { status: res.status, body: (await res.json()) as { credits?: number; error?: { code: string } } };
        },
        { key, websiteId, idempotencyKey },
      );
    const used = await spend("e2e-before-revoke");
    expect(used.status).toBe(200);
    expect(used.body.credits).toBe(5);
    // The list now says when the key was last used.
    await expect
      .poll(async () => {
        await page.reload();
        await shows(row);
        return row.textContent();
      })
      .toMatch(/Last used [A-Z][a-z]{2} \d{1,2}, \d{4}/);

    // Revoke, with a confirmation.
    await row.getByRole("button", { name: "Revoke Checkout service" }).click();
    const confirm = page.getByRole("dialog", { name: "Revoke “Checkout service”?" });
    await shows(confirm);
    await screenshots(page, "api-keys-revoke");
    await confirm.getByRole("button", { name: "Revoke key" }).click();
    await hides(confirm);
    await shows(page.getByText("No API keys yet"));

    // Refused at once: the key was used (and cached) a moment ago.
    const refused = await spend("e2e-after-revoke");
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe("unauthenticated");
  });

  it("shows the API keys link to org admins only and tells others the keys are for admins", async () => {
    const { page } = app();
    await login(page, "group-admin@demo.test");
    const orgId = /\/orgs\/([^/]+)\/groups/.exec(page.url())?.[1] ?? "";
    await shows(page.getByRole("heading", { name: "Groups", level: 1 }));
    expect(await page.getByRole("link", { name: "API keys" }).count()).toBe(0);
    await page.goto(`/orgs/${orgId}/api-keys`);
    await shows(page.getByRole("heading", { name: "API keys are managed by organization admins" }));
    expect(await page.getByRole("button", { name: "Create API key" }).count()).toBe(0);
    await screenshots(page, "api-keys-not-admin");
  });
});
