import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { DEMO_PASSWORD, SCREENSHOT_DIR, hides, login, openGroupBilling, painted, screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

/**
 * The page's details as a user expects them (issue 12, point 5): the stacked history on a phone,
 * a used-up card with its own "Add Credits", the empty card's button, the "+N" websites popover,
 * a typable quantity, months in the address, and toasts that leave the page's end usable.
 */
const app = useAppAndBrowser();

/** The demo's API as one of its users (cookie session), for setting up state and looking up ids. */
async function signedIn(email: string) {
  const { server } = app();
  const session = await fetch(`${server.baseUrl}/api/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
  });
  expect(session.status).toBe(200);
  const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { cookie, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.status, `${method} ${path}`).toBeLessThan(300);
    return (await response.json()) as T;
  };
  const group = async (name: string) => {
    const { orgs } = await call<{ orgs: { id: string }[] }>("GET", "/api/orgs");
    for (const org of orgs) {
      const { groups } = await call<{ groups: { id: string; name: string }[] }>("GET", `/api/orgs/${org.id}/groups`);
      const found = groups.find((g) => g.name === name);
      if (found) {
        const detail = await call<{ websites: { id: string; name: string; url: string }[] }>("GET", `/api/groups/${found.id}`);
        return { id: found.id, orgId: org.id, websites: detail.websites };
      }
    }
    throw new Error(`no demo group named ${name}`);
  };
  return { call, group };
}

/** Whether a click at the middle of the element would reach it (nothing, e.g. a toast, lies on top). */
async function reachable(locator: Locator) {
  return locator.evaluate((element) => {
    const box = element.getBoundingClientRect();
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    const inViewport = x >= 0 && y >= 0 && x < window.innerWidth && y < window.innerHeight;
    const hit = document.elementFromPoint(x, y);
    return inViewport && hit !== null && (hit === element || element.contains(hit));
  });
}

const scrollToEnd = (page: Page) => page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));

describe("billing page details", () => {
  it("lists the history as two-line rows under 640 px and as a table on a desktop", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const history = page.getByRole("region", { name: "Billing history" });
    await shows(history.getByRole("table"));
    expect(await history.getByRole("list", { name: "Invoices" }).isVisible()).toBe(false);

    await page.setViewportSize({ width: 375, height: 812 });
    const list = history.getByRole("list", { name: "Invoices" });
    await shows(list);
    expect(await history.getByRole("table").isVisible()).toBe(false);
    const rows = list.getByRole("listitem");
    expect(await rows.count()).toBeGreaterThan(3);
    const heights: number[] = [];
    for (const row of await rows.all()) {
      const box = await row.boundingBox();
      heights.push(Math.round(box?.height ?? 0));
      // First line: date, amount and the ↗ link side by side; second line: the description, one line.
      const [date, amount] = [row.getByText(/^[A-Z][a-z]{2} \d{1,2}, \d{4}$/), row.getByText(/^\$[\d,]+\.\d{2}$/)];
      const [dateBox, amountBox, linkBox] = await Promise.all([date.boundingBox(), amount.boundingBox(), row.getByRole("link", { name: "View invoice" }).boundingBox()]);
      expect(Math.abs((dateBox?.y ?? 0) - (amountBox?.y ?? 99))).toBeLessThan(4);
      expect(linkBox, "each row links its invoice").not.toBeNull();
      // The description is never cut (a touch screen has no hover to show the rest); the demo's fit one line.
      const description = row.locator("p");
      expect(await description.evaluate((el) => el.scrollWidth <= el.clientWidth && getComputedStyle(el).textOverflow !== "ellipsis")).toBe(true);
      expect((await description.boundingBox())?.height ?? 99).toBeLessThanOrEqual(21);
    }
    // Two lines of 20 px and the padding: 66 px; the rows were 105 px.
    for (const height of heights) expect(height, `row heights ${heights.join(", ")} px`).toBeLessThanOrEqual(72);
    await screenshots(page, "billing-history-stacked");
  });

  it("offers as many months of invoices in the filter as the README promises", async () => {
    const { page } = app();
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const promised = /invoices\s+over\s+(\w+)\s+months/.exec(readme)?.[1] ?? "";
    const words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];
    expect(words, `README: "invoices over ${promised} months"`).toContain(promised);
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const filter = page.getByRole("combobox", { name: "Filter by month" });
    await shows(filter);
    const options = await filter.getByRole("option").allTextContents();
    expect(options.slice(1)).toHaveLength(words.indexOf(promised) + 1);
  });

  it("marks a used-up monthly card and offers Add Credits on it", async () => {
    const { page } = app();
    // Spend what is left of Agency Clients' month (the website's own credits go first).
    const partner = await signedIn("partner-admin@demo.test");
    const group = await partner.group("Agency Clients");
    const { key } = await partner.call<{ key: string }>("POST", `/api/orgs/${group.orgId}/api-keys`, { name: "e2e used-up" });
    const websiteId = group.websites[0]?.id ?? "";
    const balance = (await (await fetch(`${app().server.baseUrl}/api/v1/websites/${websiteId}/balance`, { headers: { Authorization: `Bearer ${key}` } })).json()) as {
      website: number;
      groupMonthly: number;
    };
    expect(balance.groupMonthly).toBeGreaterThan(0);
    const spent = await fetch(`${app().server.baseUrl}/api/v1/usage`, {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ websiteId, credits: balance.website + balance.groupMonthly, idempotencyKey: "e2e-use-up-the-month" }),
    });
    expect(spent.status).toBe(200);

    await login(page, "partner-admin@demo.test");
    await openGroupBilling(page, "Agency Clients");
    const credits = page.getByRole("region", { name: "Credits remaining" });
    await shows(credits.getByRole("heading", { name: "Monthly credits" }));
    await shows(credits.getByText(/^remaining of 10,000$/));
    expect(await page.getByRole("progressbar", { name: "Monthly credits used" }).getAttribute("aria-valuenow")).toBe("10000");
    await shows(credits.getByText("Used up", { exact: true }));
    await shows(credits.getByText(/This month’s credits are used up\. Websites now draw on one-time credits until [A-Z][a-z]{2} \d{1,2}, \d{4}\./));
    // Its own action, besides the header's "Add More Credits".
    const addOnCard = credits.getByRole("button", { name: "Add Credits", exact: true });
    await shows(addOnCard);
    await screenshots(page, "billing-monthly-used-up");
    await addOnCard.click();
    await shows(page.getByRole("dialog", { name: "Add group credits" }));
  });

  it("gives the empty credits card its own Add Credits button", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Marketing Sites");
    await page.getByRole("button", { name: "Enable Billing" }).click();
    const credits = page.getByRole("region", { name: "Credits remaining" });
    await shows(credits.getByText("No credits purchased for this group yet."));
    const addOnCard = credits.getByRole("button", { name: "Add Credits", exact: true });
    await shows(addOnCard);
    // Nothing to run out of: the usage forecast says the pool is empty instead of a date.
    await shows(page.getByText("The group’s pool is empty: websites can use only their own credits."));
    expect(await page.getByText(/pool runs out/).count()).toBe(0);
    await screenshots(page, "billing-empty-card");
    await addOnCard.click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await shows(dialog);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await hides(dialog);
  });

  it("lists every website behind +N in a popover that works by keyboard", async () => {
    const { page } = app();
    const { websites } = await (await signedIn("org-admin@demo.test")).group("Online Stores");
    expect(websites.length).toBeGreaterThan(12);
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const strip = page.getByRole("list", { name: "Websites in this group" });
    const hidden = websites.length - 12;
    const more = strip.getByRole("button", { name: `Show ${hidden} more website${hidden === 1 ? "" : "s"}` });
    await shows(more);
    expect(await more.textContent()).toBe(`+${hidden}`);

    // Tab from the last logo reaches "+N"; Enter opens the list.
    await strip.getByRole("img").nth(11).focus();
    await page.keyboard.press("Tab");
    expect(await more.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press("Enter");
    const popover = page.getByRole("dialog", { name: "More websites in this group" });
    await shows(popover);
    const names = await popover.getByRole("listitem").locator("p:first-child").allTextContents();
    expect(names).toEqual(websites.slice(12).map((w) => w.name));
    for (const website of websites.slice(12)) await shows(popover.getByText(website.url.replace(/^https?:\/\//, ""), { exact: true }));
    await screenshots(page, "billing-more-websites");

    // Escape closes it and gives the focus back to "+N".
    await page.keyboard.press("Escape");
    await hides(popover);
    expect(await more.evaluate((element) => element === document.activeElement)).toBe(true);

    // Under 640 px five logos, "+N" and the count keep to one row, the height of their placeholder.
    await page.setViewportSize({ width: 375, height: 812 });
    await shows(strip.getByRole("button", { name: `Show ${websites.length - 5} more websites` }));
    expect(await strip.getByRole("img").count()).toBe(5);
    const row = (await strip.locator("..").boundingBox())!;
    expect(row.height).toBeLessThanOrEqual(28);
  });

  it("takes a typed quantity, explains what it cannot take, and keeps it between 1 and 50", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    const quantity = dialog.getByRole("textbox", { name: "Packages" });
    await shows(quantity);

    await quantity.fill("25");
    await shows(dialog.getByRole("button", { name: "Add 25,000 Credits" }));
    await shows(dialog.getByText("$250.00", { exact: true }));

    await quantity.fill("80");
    await shows(dialog.getByText("You can add at most 50 packages at a time."));
    expect(await quantity.getAttribute("aria-invalid")).toBe("true");
    expect(await dialog.getByRole("button", { name: /^Add [\d,]+ Credits$/ }).isDisabled()).toBe(true);
    await screenshots(page, "add-credits-quantity-invalid");
    await quantity.press("Tab");
    expect(await quantity.inputValue()).toBe("50");
    await shows(dialog.getByText("Set to 50, the most you can add at a time."));
    await shows(dialog.getByRole("button", { name: "Add 50,000 Credits" }));
    expect(await dialog.getByRole("button", { name: "Increase quantity" }).isDisabled()).toBe(true);

    await quantity.fill("2x");
    await shows(dialog.getByText("Enter a whole number of packages, from 1 to 50."));
    expect(await dialog.getByRole("button", { name: /^Add [\d,]+ Credits$/ }).isDisabled()).toBe(true);
    await quantity.fill("0");
    await shows(dialog.getByText("The least you can add is 1 package."));
    await quantity.press("Enter");
    expect(await quantity.inputValue()).toBe("1");
    await quantity.press("ArrowUp");
    await quantity.press("ArrowUp");
    await shows(dialog.getByRole("button", { name: "Add 3,000 Credits" }));

    // A note explains what was just typed; on the other tab it would explain nothing.
    await quantity.fill("0");
    await quantity.press("Tab");
    await shows(dialog.getByText("Set to 1, the least you can add."));
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await expect.poll(() => dialog.getByText("Set to 1, the least you can add.").count()).toBe(0);
  });

  it("keeps the history's and the usage's months in the address, together, through a reload", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const historyFilter = page.getByRole("combobox", { name: "Filter by month" });
    const usagePicker = page.getByRole("region", { name: "Usage" }).getByRole("combobox", { name: "Usage month" });
    await shows(historyFilter);
    await shows(usagePicker);
    const historyMonth = (await historyFilter.getByRole("option").nth(2).getAttribute("value")) ?? "";
    const usageMonth = (await usagePicker.getByRole("option").nth(1).getAttribute("value")) ?? "";
    await historyFilter.selectOption(historyMonth);
    await usagePicker.selectOption(usageMonth);
    const params = () => new URL(page.url()).searchParams;
    await expect.poll(() => [params().get("month"), params().get("usage")]).toEqual([historyMonth, usageMonth]);

    await page.reload();
    await expect.poll(() => historyFilter.inputValue()).toBe(historyMonth);
    await expect.poll(() => usagePicker.inputValue()).toBe(usageMonth);

    // Changing one leaves the other alone.
    await historyFilter.selectOption("all");
    await expect.poll(() => params().has("month")).toBe(false);
    expect(params().get("usage")).toBe(usageMonth);
    expect(await usagePicker.inputValue()).toBe(usageMonth);
  });

  it("shows a toast without hiding the end of the page: the last invoice's amount and link stay clickable", async () => {
    const { page } = app();
    const { id } = await (await signedIn("org-admin@demo.test")).group("Online Stores");
    await login(page, "org-admin@demo.test");
    await page.goto(`/groups/${id}/billing?checkout=cancelled`);
    const toast = page
      .getByRole("region", { name: /^Notifications/ })
      .getByRole("listitem")
      .filter({ hasText: "Checkout cancelled. Nothing was charged." });
    await shows(toast);
    // Keep it open while measuring (a pointer on a toast pauses its timer).
    await toast.hover();
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
      await toast.hover();
      const history = page.getByRole("region", { name: "Billing history" });
      const lastRow = width === 375 ? history.getByRole("listitem").last() : history.getByRole("row").last();
      await shows(lastRow);
      await scrollToEnd(page);
      await painted(page);
      expect(await toast.isVisible(), `the toast is still shown at ${width} px`).toBe(true);
      for (const part of [lastRow.getByText(/^\$[\d,]+\.\d{2}$/), lastRow.getByRole("link", { name: "View invoice" })]) {
        expect(await reachable(part), `${await part.textContent()} of the last invoice at ${width} px`).toBe(true);
      }
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, `billing-toast-end-${width}.png`) });
    }
  });
});
