import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

const thisMonth = () => new Date().toISOString().slice(0, 7);
const previousMonth = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
};
const monthName = (m: string) => new Intl.DateTimeFormat("en-US", { year: "numeric", month: "long", timeZone: "UTC" }).format(new Date(`${m}-01T00:00:00Z`));

describe("Usage section of the billing page (org admin, Online Stores)", () => {
  it("shows the daily chart with its table, the forecast and the top websites with logos and shares", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");

    const usage = page.getByRole("region", { name: "Usage" });
    await shows(usage.getByRole("heading", { name: "Usage", level: 2 }));
    // The chart (a canvas drawn by the lazily loaded Chart.js) is an image with a summary.
    const chart = usage.getByRole("img", { name: /^Credits used per day in .*, stacked by source/ });
    await shows(chart);
    expect(await chart.evaluate((el) => el.tagName)).toBe("CANVAS");
    // The same numbers as a table for screen readers: one row per day of the month so far.
    const table = usage.getByRole("table", { name: /Credits used per day in .*, by source/ });
    expect(await table.getByRole("columnheader").allTextContents()).toEqual(["Day", "Websites' own", "Group monthly", "Group one-time"]);
    expect(await table.getByRole("row").count()).toBe(1 + new Date().getUTCDate());
    // The demo spent 3,400 one-time and 7,600 monthly credits today.
    const today = table.getByRole("row").last();
    expect(await today.getByRole("cell").allTextContents()).toEqual(["0", "7,600", "3,400"]);

    await shows(usage.getByText(/^(At the current rate the pool runs out around [A-Z][a-z]{2} \d{1,2}\.|About [\d,]+ monthly credits will expire unused on [A-Z][a-z]{2} \d{1,2}\.|At the current rate the pool lasts beyond the next 12 months\.)$/));

    const top = usage.getByRole("region", { name: "Top websites" });
    const items = top.getByRole("listitem");
    expect(await items.count()).toBe(5);
    const bars = top.getByRole("progressbar");
    const values = await bars.evaluateAll((els) => els.map((el) => Number(el.getAttribute("aria-valuenow"))));
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(await items.first().getByText(/% of pool use$/).textContent()).toMatch(/^\d+% of pool use$/);
    // Each row has the website's logo (or its lettered fallback), as in the strip.
    expect(await items.first().locator("span.rounded-full").count()).toBe(1);

    await screenshots(page, "billing-usage");
    // Under 640 px the chart scrolls inside its card (screenshots() already checked the page does not).
    await page.setViewportSize({ width: 375, height: 812 });
    const scroller = usage.getByRole("group", { name: /Daily usage chart/ });
    const widths = await scroller.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(widths.scroll).toBeGreaterThan(widths.client);
    // The legend is outside the scrolling chart: whole at 375 px, wherever the chart is scrolled.
    const legend = usage.getByRole("list", { name: "Chart legend" });
    expect(await legend.getByRole("listitem").allTextContents()).toEqual(["Websites' own", "Group monthly", "Group one-time"]);
    for (const item of await legend.getByRole("listitem").all()) {
      const box = (await item.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(375);
    }
    // The chart opens on its latest days; its credits axis stays drawn at the card's left edge, over the bars.
    await expect.poll(() => scroller.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    const axis = usage.getByTestId("usage-chart-axis");
    await expect.poll(async () => {
      const [a, s] = [await axis.boundingBox(), await scroller.boundingBox()];
      return a && s ? Math.abs(a.x - s.x) <= 1 && a.width > 24 : false;
    }).toBe(true);
    expect(await axis.evaluate((c: HTMLCanvasElement) => c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0))).toBe(true);
  });

  it("changes the usage section, and only it, with its own month picker kept in the URL", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const usage = page.getByRole("region", { name: "Usage" });
    const picker = usage.getByRole("combobox", { name: "Usage month" });
    await shows(picker);
    expect(await picker.inputValue()).toBe(thisMonth());
    const historyFilter = page.getByRole("combobox", { name: "Filter by month" });
    await shows(historyFilter);
    const historyBefore = await historyFilter.inputValue();

    await picker.selectOption(previousMonth());
    await page.waitForURL(new RegExp(`[?&]usage=${previousMonth()}`));
    await shows(usage.getByRole("table", { name: `Credits used per day in ${monthName(previousMonth())}, by source` }));
    const rows = usage.getByRole("table").getByRole("row");
    const [y, m] = previousMonth().split("-").map(Number) as [number, number];
    expect(await rows.count()).toBe(1 + new Date(Date.UTC(y, m, 0)).getUTCDate());
    // The demo's history spent credits on every day of last month: the top websites list them.
    await shows(usage.getByRole("region", { name: "Top websites" }).getByRole("listitem").first());
    expect(await usage.getByText(`No website used the group’s pool this month.`).count()).toBe(0);
    expect(await historyFilter.inputValue()).toBe(historyBefore);
    await screenshots(page, "billing-usage-previous-month");

    // The month survives a reload (it is in the URL).
    await page.reload();
    await shows(page.getByRole("region", { name: "Usage" }).getByRole("table", { name: `Credits used per day in ${monthName(previousMonth())}, by source` }));
    expect(await page.getByRole("combobox", { name: "Usage month" }).inputValue()).toBe(previousMonth());
  });

  it("downloads the month's ledger as CSV", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const link = page.getByRole("region", { name: "Usage" }).getByRole("link", { name: "Download CSV" });
    await shows(link);
    // What the month's table shows, day by day and by source (the demo's history before today, and today's 11,000).
    // The link shows before the month's report has arrived: wait for the table's days.
    const table = page.getByRole("region", { name: "Usage" }).getByRole("table", { name: /Credits used per day in .*, by source/ });
    const shownNow = async () =>
      (await table.locator("tbody td").allTextContents()).map((c) => Number(c.replace(/,/g, ""))).filter((n) => Number.isFinite(n)).reduce((a, b) => a + b, 0);
    await expect.poll(shownNow).toBeGreaterThan(11_000);
    const shown = await shownNow();
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^ledger-.*\.csv$/);
    const text = readFileSync(await download.path(), "utf8");
    const lines = text.trimEnd().split("\r\n");
    expect(lines[0]).toBe("time,entry_id,kind,source,website_id,website_name,usage_event_id,idempotency_key,credits,grant_id");
    const debits = lines.slice(1).filter((l) => l.split(",")[2] === "debit");
    // One row per part of every event of the month: the same credits as the table.
    expect(debits.length).toBeGreaterThanOrEqual(110);
    expect(debits.reduce((sum, l) => sum + Number(l.split(",")[8]), 0)).toBe(-shown);
  });
});
