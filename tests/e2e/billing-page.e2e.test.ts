import { describe, expect, it } from "vitest";
import { login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

describe("group billing page of a group with credits (org admin)", () => {
  it("lists the organization's groups with website counts and billing state", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await shows(page.getByRole("heading", { name: "Groups", level: 1 }));
    const stores = page.getByRole("row").filter({ has: page.getByRole("link", { name: "Online Stores", exact: true }) });
    await shows(stores);
    expect(await stores.getByRole("cell").nth(1).textContent()).toMatch(/^\d+$/);
    expect(await stores.textContent()).toContain("Enabled");
    const marketing = page.getByRole("row").filter({ has: page.getByRole("link", { name: "Marketing Sites", exact: true }) });
    expect(await marketing.textContent()).toContain("Not enabled");
    await screenshots(page, "groups");
  });

  it("shows the overview, both credit cards and the billing history", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");

    await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));
    await shows(page.getByRole("heading", { name: "Online Stores", level: 2 }));
    await shows(page.getByText("Credits bought here are shared by every website in this group."));
    await shows(page.getByText(/^\d+ websites$/));
    // More than twelve websites: twelve logos, then "+N" that lists the others.
    await shows(page.getByRole("button", { name: /^Show \d+ more websites?$/ }));
    expect(await page.getByRole("list", { name: "Websites in this group" }).getByRole("img").count()).toBe(12);

    await shows(page.getByRole("heading", { name: "Monthly credits" }));
    await shows(page.getByRole("heading", { name: "One-time credits" }));
    await shows(page.getByText(/^remaining of [\d,]+$/));
    await shows(page.getByText(/^Renews [A-Z][a-z]{2} \d{1,2}, \d{4}$/));
    await shows(page.getByText("Never expires"));
    const bars = page.getByRole("region", { name: "Credits remaining" }).getByRole("progressbar");
    expect(await bars.count()).toBe(2);
    const monthlyBar = page.getByRole("progressbar", { name: "Monthly credits used" });
    expect(Number(await monthlyBar.getAttribute("aria-valuemax"))).toBeGreaterThan(0);
    await shows(page.getByRole("button", { name: "Add More Credits" }));
    expect(await page.getByRole("link", { name: "Manage subscription" }).count()).toBe(0);

    await shows(page.getByRole("heading", { name: "Billing history" }));
    const headers = await page.getByRole("region", { name: "Billing history" }).getByRole("columnheader").allTextContents();
    expect(headers.slice(0, 3)).toEqual(["Date", "Description", "Amount"]);
    const invoiceLinks = page.getByRole("link", { name: "View invoice" });
    await shows(invoiceLinks);
    expect(await invoiceLinks.first().getAttribute("target")).toBe("_blank");
    expect(await invoiceLinks.first().getAttribute("rel")).toContain("noopener");

    // Newest first.
    const dates = await page.locator("tbody tr td:first-child").allTextContents();
    const times = dates.map((text) => Date.parse(`${text} UTC`));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    await screenshots(page, "billing-active");
  });

  it("asks for the page's data once each on a fresh load, from the HTML's preloads, with the months in the address", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    // The page opened by the click asks for its own data; only the fresh load below counts.
    await shows(page.getByRole("heading", { name: "Billing history" }));
    const url = new URL(page.url());
    url.search = "?month=2026-10&usage=2026-09";
    const asked: string[] = [];
    page.on("request", (req) => {
      if (req.isNavigationRequest()) asked.length = 0;
      if (new URL(req.url()).pathname.startsWith("/api/")) asked.push(`${req.method()} ${req.url().slice(url.origin.length)}`);
    });
    await page.goto(url.toString());
    await shows(page.getByRole("heading", { name: "Billing history" }));
    await page.waitForLoadState("networkidle");
    const preloaded = await page.locator('link[rel="preload"][as="fetch"]').evaluateAll((links) => links.map((l) => l.getAttribute("href")));
    const groupApi = `/api/groups/${url.pathname.split("/")[2]}`;
    expect(preloaded).toEqual([
      "/api/session",
      "/api/orgs",
      groupApi,
      `${groupApi}/billing`,
      `${groupApi}/billing/usage?month=2026-09`,
      `${groupApi}/billing/invoices?month=2026-10`,
      `${groupApi}/billing/settings`,
    ]);
    // The page's own fetches took the preloaded answers: one request each, none asked again.
    expect([...asked].sort()).toEqual(preloaded.map((href) => `GET ${href}`).sort());
  });

  it("filters the billing history by month", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const filter = page.getByRole("combobox", { name: "Filter by month" });
    await shows(filter);
    const options = await filter.getByRole("option").allTextContents();
    expect(options[0]).toBe("All months");
    expect(options.length).toBeGreaterThan(1);
    for (const label of options.slice(1)) expect(label).toMatch(/^[A-Z][a-z]+ \d{4}$/);

    const month = (await filter.getByRole("option").nth(1).getAttribute("value")) ?? "";
    const answered = page.waitForResponse((res) => res.url().includes(`/billing/invoices?month=${month}`));
    await filter.selectOption(month);
    expect((await answered).status()).toBe(200);
    const [monthWord = "?", year = "?"] = (options[1] ?? "").split(" ");
    const inMonth = (dates: string[]) => dates.length > 0 && dates.every((date) => date.startsWith(monthWord.slice(0, 3)) && date.endsWith(year));
    // Web-first: re-read the rows until they show the month (or time out).
    await expect.poll(() => page.locator("tbody tr td:first-child").allTextContents()).toSatisfy(inMonth);

    // The month is in the address, so a reload (or a shared link) shows the same month.
    expect(new URL(page.url()).searchParams.get("month")).toBe(month);
    const reloaded = page.waitForResponse((res) => res.url().includes(`/billing/invoices?month=${month}`));
    await page.reload();
    expect((await reloaded).status()).toBe(200);
    await expect.poll(() => filter.inputValue()).toBe(month);
    await expect.poll(() => page.locator("tbody tr td:first-child").allTextContents()).toSatisfy(inMonth);

    // Back to all months: the parameter goes away.
    await filter.selectOption("all");
    await expect.poll(() => new URL(page.url()).searchParams.has("month")).toBe(false);
  });

  it("explains the credit rules in the ⓘ dialog and closes it with Escape", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    await page.getByRole("button", { name: "How group credits work" }).click();
    const dialog = page.getByRole("dialog", { name: "How group credits work" });
    await shows(dialog);
    for (const text of [
      "Credit priority",
      "Website credits are checked first. When depleted, usage falls back to group credits.",
      "Monthly credits",
      "Auto-renew at the start of each billing period. Unused monthly credits do not roll over.",
      "One-time credits",
      "Purchased once and consumed until depleted. They don’t renew.",
    ]) {
      await shows(dialog.getByText(text, { exact: true }));
    }
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("shows a website's name in a tooltip on hover and on keyboard focus", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const logos = page.getByRole("list", { name: "Websites in this group" }).getByRole("img");
    const first = logos.first();
    const name = (await first.getAttribute("aria-label")) ?? "";
    await first.hover();
    await shows(page.getByRole("tooltip", { name }));
    await page.mouse.move(0, 0, { steps: 8 });
    await page.getByRole("tooltip").waitFor({ state: "hidden" });

    const second = logos.nth(1);
    const secondName = (await second.getAttribute("aria-label")) ?? "";
    await second.focus();
    await shows(page.getByRole("tooltip", { name: secondName }));
  });

  it("prices packages in the Add group credits dialog and keeps the quantity between 1 and 50", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    // Opened from the keyboard, the dialog starts on its first control, not on ✕ (focused while its form loaded).
    await page.getByRole("button", { name: "Add More Credits" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await shows(dialog);
    await shows(dialog.getByText(/^Current balance: [\d,]+ credits$/));
    const oneTime = dialog.getByRole("tab", { name: "One-time" });
    expect(await oneTime.getAttribute("aria-selected")).toBe("true");
    await expect.poll(() => oneTime.evaluate((element) => element === document.activeElement)).toBe(true);
    const decrease = dialog.getByRole("button", { name: "Decrease quantity" });
    const increase = dialog.getByRole("button", { name: "Increase quantity" });
    expect(await decrease.isDisabled()).toBe(true);
    await shows(dialog.getByText("packages of 1,000 credits"));
    await shows(dialog.getByRole("button", { name: "Add 1,000 Credits" }));

    for (let i = 0; i < 4; i++) await increase.click();
    await shows(dialog.getByRole("button", { name: "Add 5,000 Credits" }));
    await shows(dialog.getByText("$50.00", { exact: true }));

    // Online Stores has a plan: Monthly raises it, priced by the server (the plan's own test checks the amounts).
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await shows(dialog.getByText(/^\d+ packages · \$[\d,]+\.\d{2} \/ month$/));
    await shows(dialog.getByText("Due today"));
    await screenshots(page, "add-credits-dialog");

    for (let i = 0; i < 60 && (await increase.isEnabled()); i++) await increase.click();
    await shows(dialog.getByRole("button", { name: "Add 50,000 Credits" }));
    expect(await increase.isDisabled()).toBe(true);

    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
  });
});
