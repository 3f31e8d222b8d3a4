import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD, hides, login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { setEmulatorFault, useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

/** The API as the group's own services and the admin's session use it (outside the page). */
async function apiFor(baseUrl: string, email: string, groupId: string) {
  const session = await fetch(`${baseUrl}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: DEMO_PASSWORD }) });
  const cookie = session.headers.get("set-cookie")!.split(";")[0]!;
  const asAdmin = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${baseUrl}${path}`, { ...init, headers: { cookie, "content-type": "application/json", ...init.headers } });
    return (await r.json());
  };
  const group = await asAdmin(`/api/groups/${groupId}`);
  const { key } = await asAdmin(`/api/orgs/${group.orgId}/api-keys`, { method: "POST", body: JSON.stringify({ name: "e2e usage" }) });
  const site = (name: string) => (group.websites as { id: string; name: string }[]).find((w) => w.name === name)!.id;
  const use = async (website: string, credits: number) => {
    const r = await fetch(`${baseUrl}/api/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ websiteId: site(website), credits, idempotencyKey: crypto.randomUUID() }),
    });
    return { status: r.status, json: (await r.json()) };
  };
  const settings = () => asAdmin(`/api/groups/${groupId}/billing/settings`);
  const usage = () => asAdmin(`/api/groups/${groupId}/billing/usage`);
  return { use, settings, usage };
}

describe("controls (partner admin)", () => {
  it("sets a cap, a threshold and auto top-up; usage through the API fires them: banner, refill, history line, and a red banner when the card declines", async () => {
    const { page, server } = app();
    await login(page, "partner-admin@demo.test");
    await openGroupBilling(page, "Agency Clients");
    const groupId = /\/groups\/([^/]+)\/billing/.exec(page.url())![1]!;
    const api = await apiFor(server.baseUrl, "partner-admin@demo.test", groupId);

    // A cap from the website's row in Top websites.
    await shows(page.getByRole("heading", { name: "Top websites" }));
    const riverside = (await api.usage()).websites.find((w: { name: string }) => w.name === "Riverside Dental");
    const used = riverside.groupMonthly + riverside.groupOneTime;
    await page.getByRole("button", { name: "Set pool cap for Riverside Dental" }).click();
    await page.getByLabel("Monthly pool cap (credits)").fill(String(used + 100));
    await page.getByRole("button", { name: "Save cap" }).click();
    await shows(page.getByText("Cap saved for Riverside Dental"));
    await shows(page.getByText(new RegExp(`of ${(used + 100).toLocaleString("en-US")} cap`)));
    expect((await api.use("Riverside Dental", 101)).json.error.code).toBe("pool_cap_reached");
    expect((await api.use("Riverside Dental", 100)).status).toBe(200);

    // A low-balance threshold just under the pool; usage takes the pool under it.
    const controls = page.getByRole("region", { name: "Controls" });
    const available = (await api.settings()).poolAvailable as number;
    const threshold = available - 200;
    await controls.getByLabel("Alert below (credits)").fill(String(threshold));
    await controls.getByRole("button", { name: "Save threshold" }).click();
    await shows(page.getByText("Low-balance threshold saved"));
    expect((await api.use("Keystone Law", 300)).status).toBe(200);
    await page.reload();
    const amber = page.getByRole("status").filter({ hasText: "Group credits are running low" });
    await shows(amber);
    await shows(amber.getByRole("button", { name: "Add Credits" }));
    await controls.getByRole("button", { name: "Reveal signing secret" }).click();
    await shows(controls.getByText(/^whsec_[\w-]{20,}$/));
    await screenshots(page, "controls-low-balance");

    // Auto top-up, turned on while the pool is under its threshold, refills it at once.
    await controls.getByLabel("Turn on auto top-up").check();
    await controls.getByLabel("Below", { exact: true }).fill(String(threshold));
    await controls.getByLabel("Packages").fill("1");
    await controls.getByLabel("Per month").fill("2");
    await controls.getByRole("button", { name: "Save auto top-up" }).click();
    await shows(page.getByText("Auto top-up is on"));
    await expect.poll(async () => (await api.settings()).poolLow, { timeout: 15_000 }).toBe(false);
    await page.reload();
    await shows(page.getByRole("cell", { name: "One-time credits · 1 package (1,000 credits) · auto top-up" }).or(page.getByText("One-time credits · 1 package (1,000 credits) · auto top-up")));
    expect(await amber.count()).toBe(0);

    // The partner declines the next top-up: auto top-up turns itself off and the page says why.
    await setEmulatorFault(server.partnerEmulatorUrl, "decline");
    expect((await api.use("Keystone Law", 1100)).status).toBe(200);
    await expect.poll(async () => (await api.settings()).autoTopUpDisabledReason, { timeout: 15_000 }).toMatch(/declined/);
    await setEmulatorFault(server.partnerEmulatorUrl, "none");
    await page.reload();
    const red = page.getByRole("alert").filter({ hasText: "Auto top-up is off" });
    await shows(red);
    expect(await red.textContent()).toMatch(/declined/);
    await shows(amber);
    expect(await controls.getByLabel("Turn on auto top-up").isChecked()).toBe(false);
    await screenshots(page, "controls-top-up-failed");
  });
});

describe("controls' fields and caps (org admin)", () => {
  it("caps any website of the group from Top websites, keeps a capped one in sight, and checks every number before sending it", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const groupId = /\/groups\/([^/]+)\/billing/.exec(page.url())![1]!;
    const api = await apiFor(server.baseUrl, "org-admin@demo.test", groupId);
    const top = page.getByRole("region", { name: "Top websites" });
    await shows(top.getByRole("listitem").first());
    expect(await top.getByRole("listitem").count()).toBe(5);

    // The sixth biggest pool user is not in the top five: before, it could not be capped at all. "Show all" lists all 14.
    const idle = (await api.usage()).websites[5] as { name: string };
    await top.getByRole("button", { name: "Show all 14 websites" }).click();
    expect(await top.getByRole("listitem").count()).toBe(14);
    await top.getByRole("button", { name: `Set pool cap for ${idle.name}` }).click();
    const cap = page.getByLabel("Monthly pool cap (credits)");
    const capDialog = page.getByRole("dialog", { name: `Pool cap for ${idle.name}` });
    for (const [typed, error] of [
      ["0x10", "Enter a whole number of credits."],
      ["1e3", "Enter a whole number of credits."],
      ["99999999999", "At most 1,000,000,000 credits."],
    ] as const) {
      await cap.fill(typed);
      await shows(capDialog.getByText(error));
      expect(await page.locator(`#${await cap.getAttribute("aria-describedby")}`).textContent()).toBe(error);
      expect(await capDialog.getByRole("button", { name: "Save cap" }).isDisabled()).toBe(true);
    }
    await cap.fill("0");
    await capDialog.getByRole("button", { name: "Save cap" }).click();
    await shows(page.getByText(`Cap saved for ${idle.name}`));

    // After a reload the top five show again, and the capped website (at 0 it may never enter them) stays listed, to be changed.
    await page.reload();
    await shows(top.getByRole("listitem").first());
    expect(await top.getByRole("listitem").count()).toBe(6);
    await top.getByRole("button", { name: `Edit pool cap for ${idle.name}` }).click();
    await cap.fill("1,000");
    await capDialog.getByRole("button", { name: "Save cap" }).click();
    await shows(page.getByText(`Cap saved for ${idle.name}`));
    await shows(top.getByRole("listitem").filter({ hasText: idle.name }).getByText(/ of 1,000 cap$/));

    // Numbers the API would refuse are refused on the page, in its words; no field moves when another shows an error.
    const controls = page.getByRole("region", { name: "Controls" });
    await controls.getByLabel("Alert below (credits)").fill("99999999999");
    await shows(controls.getByText("At most 1,000,000,000 credits."));
    await controls.getByLabel("Turn on auto top-up").check();
    await controls.getByLabel("Packages").fill("0");
    await shows(controls.getByText("1 to 50 packages."));
    const tops = await Promise.all(["Below", "Packages", "Per month"].map(async (label) => (await controls.getByLabel(label, { exact: true }).boundingBox())!.y));
    expect(new Set(tops).size).toBe(1);

    // Every error is the description of its field (screen readers read it with the field).
    const threshold = controls.getByLabel("Alert below (credits)");
    expect(await threshold.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator(`#${await threshold.getAttribute("aria-describedby")}`).textContent()).toBe("At most 1,000,000,000 credits.");

    // A webhook URL is checked in place as the server would, in plain words (before: zod's text for a long one, the
    // browser's own bubble for one without http(s)); nothing is sent.
    const url = controls.getByLabel("Webhook URL");
    const saves: string[] = [];
    page.on("request", (r) => void (r.method() === "PUT" && r.url().endsWith("/billing/settings") && saves.push(r.postData() ?? "")));
    for (const [typed, error] of [
      ["ftp://alerts.example.com/hook", "The webhook URL must start with http:// or https://."],
      ["not a url", "The webhook URL must start with http:// or https://."],
      [`https://alerts.example.com/${"a".repeat(2100)}`, "The webhook URL is at most 2,048 characters."],
    ] as const) {
      await url.fill(typed);
      await controls.getByRole("button", { name: "Save webhook" }).click();
      await shows(controls.getByText(error));
      expect(await page.locator(`#${await url.getAttribute("aria-describedby")}`).textContent()).toBe(error);
    }
    expect(saves).toEqual([]);

    // A server's refusal is about what was sent: editing the field takes it away.
    await url.fill("http://169.254.169.254/hook");
    await controls.getByRole("button", { name: "Save webhook" }).click();
    const refusal = controls.getByText(/resolves to 169\.254\.169\.254, which is a link-local, metadata or reserved address/);
    await shows(refusal);
    await url.fill("https://alerts.example.com/hook");
    await hides(refusal);
    expect(await url.getAttribute("aria-invalid")).toBeNull();
  });
});
