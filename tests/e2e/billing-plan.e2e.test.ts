import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { hides, login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { advanceEmulatorSubscriptions, emulatorControl, setEmulatorFault, useAppAndBrowser } from "./support/suite.js";

// Issue 12: the paying customer's plan on the page. The demo's "Online Stores" has a Stripe plan
// of 20 packages at $8.00 each.
const app = useAppAndBrowser();

type Plan = { packages: number; price: { amount: number }; status: string; currentPeriodEnd: string; nextPeriodPackages: number | null };
const day = (iso: string) => new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }).format(new Date(iso));
const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

async function openOnlineStores(page: Page) {
  await login(page, "org-admin@demo.test");
  await openGroupBilling(page, "Online Stores");
  const groupId = /\/groups\/([^/]+)\/billing/.exec(page.url())?.[1] ?? "";
  const plan = async () => ((await (await page.request.get(`/api/groups/${groupId}/billing`)).json()) as { plan: Plan | null }).plan;
  return { groupId, plan };
}

/** The plan line, read as one sentence ("Monthly plan · 20 packages · $160.00 / month · Renews Dec 27, 2026"). */
const planLine = (page: Page) => page.getByRole("group", { name: "Monthly plan" });
const planText = async (page: Page) => ((await planLine(page).locator("p").textContent()) ?? "").replace(/\s+/g, " ").trim();

/** Webhooks arrive on their own time: reload the page until the plan line says `expected`. */
async function planLineBecomes(page: Page, expected: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await shows(planLine(page));
    const text = await planText(page);
    if (text === expected) return;
    if (Date.now() > until) expect(text).toBe(expected);
    await page.waitForTimeout(500);
    await page.reload();
  }
}

/** Back from the portal the page reads its plan again by itself (webhooks may land after the page loads): no reload. */
async function backFromPortal(page: Page, expected: string) {
  await page.getByRole("link", { name: "Return to Group Billing" }).click();
  await page.waitForURL(/\/groups\/[^/]+\/billing$/);
  await shows(planLine(page));
  await page.waitForFunction(
    (text) => (document.querySelector('[aria-label="Monthly plan"] p')?.textContent ?? "").replace(/\s+/g, " ").trim() === text,
    expected,
    { timeout: 12_000 },
  );
}

/** "Manage plan" opens the Stripe emulator's customer portal for this group. */
async function openPortal(page: Page, stripeUrl: string) {
  await planLine(page).getByRole("button", { name: "Manage plan" }).click();
  await page.waitForURL((url) => url.href.startsWith(stripeUrl) && url.pathname.startsWith("/p/session/"));
  await shows(page.getByRole("heading", { name: "Manage plan" }));
}

describe("the monthly plan", () => {
  it("shows the plan, and raises it only after showing what is charged today and the new monthly price; a double-click buys once", async () => {
    const { page } = app();
    const { plan } = await openOnlineStores(page);
    const before = (await plan())!;
    const n = before.packages;
    await planLineBecomes(page, `Monthly plan · ${n} packages · ${dollars(n * 800)} / month · Renews ${day(before.currentPeriodEnd)}`);
    await screenshots(page, "plan-line");

    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await dialog.getByRole("button", { name: "Increase quantity" }).click();
    const confirmation = dialog.getByTestId("plan-raise-confirmation");
    await shows(confirmation);
    expect((await confirmation.textContent())!.replace(/\s+/g, " ")).toBe(
      `Your plan goes from ${n} to ${n + 2} packages: ${dollars((n + 2) * 800)} / month. $16.00 is charged today to the card on file for this period, which ends ${day(before.currentPeriodEnd)}.`,
    );
    await shows(dialog.getByText("Due today"));
    await screenshots(page, "plan-raise-confirmation");

    const purchases: Array<Record<string, unknown>> = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/billing/purchases")) purchases.push(request.postDataJSON() as Record<string, unknown>);
    });
    await dialog.getByRole("button", { name: "Add 2,000 Credits" }).dblclick();
    await hides(dialog, 20_000);
    await shows(page.getByText("Added 2,000 credits"));
    await page.waitForTimeout(1_000); // a second request or toast would have shown by now
    expect(purchases).toEqual([{ type: "monthly", quantity: 2, expectedDueNow: 1600 }]);
    expect(await page.getByText("Added 2,000 credits").count()).toBe(1);
    await planLineBecomes(page, `Monthly plan · ${n + 2} packages · ${dollars((n + 2) * 800)} / month · Renews ${day(before.currentPeriodEnd)}`);
    expect((await plan())!.packages).toBe(n + 2);

    // The history words every line alike: the raise, the plan's month, one-time credits (demo history included).
    const history = page.getByRole("region", { name: "Billing history" });
    await shows(history.getByText(`Plan raised to ${n + 2} packages · 2 added packages (2,000 credits) until ${day(before.currentPeriodEnd)}`));
    await shows(history.getByText(`Monthly credits · ${n} packages (${n},000 credits)`));
    await shows(history.getByText("One-time credits · 5 packages (5,000 credits)"));
    await shows(history.getByText("Monthly credits · 15 packages (15,000 credits)"));
    expect(await history.getByText(/group credits \(|×/).count()).toBe(0);
    await screenshots(page, "plan-history-wording");
  });

  it("at 375 px: the plan line, the raise confirmation and Manage plan work, and a Stripe outage is said in place", async () => {
    const { page, server } = app();
    await page.setViewportSize({ width: 375, height: 812 });
    const { plan } = await openOnlineStores(page);
    const n = (await plan())!.packages;
    await shows(planLine(page));
    expect(await planText(page)).toMatch(new RegExp(`^Monthly plan · ${n} packages · \\$[\\d,]+\\.00 / month · (Renews|Cancels on|Changes to) `));

    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await shows(dialog.getByText(`Your plan goes from ${n} to ${n + 1} packages: ${dollars((n + 1) * 800)} / month.`, { exact: false }));
    const box = await dialog.boundingBox();
    expect(box!.width).toBeLessThanOrEqual(375);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await hides(dialog);

    await setEmulatorFault(server.stripeEmulatorUrl, "error");
    try {
      await planLine(page).getByRole("button", { name: "Manage plan" }).click();
      await shows(planLine(page).getByRole("alert"));
      expect(page.url()).toContain("/billing");
      await screenshots(page, "plan-portal-unavailable");
    } finally {
      await setEmulatorFault(server.stripeEmulatorUrl, "none");
    }
    await planLine(page).getByRole("button", { name: "Manage plan" }).click();
    await page.waitForURL((url) => url.href.startsWith(server.stripeEmulatorUrl) && url.pathname.startsWith("/p/session/"));
    await page.getByRole("link", { name: "Return to Group Billing" }).click();
    await page.waitForURL(/\/groups\/[^/]+\/billing$/);
    await shows(planLine(page));
  });

  it("a price that changed after the preview is refused (409), said in plain words, and the new price can be confirmed", async () => {
    const { page } = app();
    const { plan } = await openOnlineStores(page);
    const n = (await plan())!.packages;
    // The first preview answers an old price (as if it changed since): the server must refuse the purchase.
    let stale = true;
    await page.route("**/billing/purchases/preview", async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { dueNow: { amount: number } };
      if (stale) body.dueNow.amount = 533;
      stale = false;
      await route.fulfill({ response, json: body });
    });
    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await shows(dialog.getByText("$5.33 is charged today", { exact: false }));
    await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
    await shows(dialog.getByRole("alert").filter({ hasText: "The price changed since you opened this." }));
    await shows(dialog.getByText("$8.00 is charged today", { exact: false }));
    expect((await plan())!.packages).toBe(n);
    await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
    await hides(dialog, 20_000);
    expect((await plan())!.packages).toBe(n + 1);
  });

  it("Manage plan: cancel at period end, resume, and a lowered quantity that applies from the next period", async () => {
    const { page, server } = app();
    const { plan } = await openOnlineStores(page);
    const before = (await plan())!;
    const n = before.packages;
    const end = day(before.currentPeriodEnd);
    const price = dollars(n * 800);

    await openPortal(page, server.stripeEmulatorUrl);
    await page.getByRole("button", { name: "Cancel plan" }).click();
    await shows(page.getByText("Your plan will be cancelled at the end of the current period."));
    await backFromPortal(page, `Monthly plan · ${n} packages · ${price} / month · Cancels on ${end}`);
    await shows(page.getByText(`Expires ${end} · the plan does not renew`));
    await screenshots(page, "plan-canceling");

    await openPortal(page, server.stripeEmulatorUrl);
    await page.getByRole("button", { name: "Resume plan" }).click();
    await shows(page.getByText("Your plan will renew as before."));
    await backFromPortal(page, `Monthly plan · ${n} packages · ${price} / month · Renews ${end}`);

    await openPortal(page, server.stripeEmulatorUrl);
    await page.getByLabel("Packages from the next period").fill("15");
    await page.getByRole("button", { name: "Update quantity" }).click();
    await shows(page.getByText("Your new quantity starts with the next period."));
    await backFromPortal(page, `Monthly plan · ${n} packages · ${price} / month · Changes to 15 packages on ${end}`);
    await screenshots(page, "plan-lowered");

    // The next period (the emulator's "Advance to next period"): Stripe bills 15 packages, the group gets 15,000 credits.
    await advanceEmulatorSubscriptions(server.stripeEmulatorUrl);
    let after: Plan | null = null;
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      after = await plan();
      if (after && after.currentPeriodEnd !== before.currentPeriodEnd && after.packages === 15) break;
      await page.waitForTimeout(300);
    }
    expect(after).toMatchObject({ packages: 15, price: { amount: 12_000 }, status: "active", nextPeriodPackages: null });
    await planLineBecomes(page, `Monthly plan · 15 packages · $120.00 / month · Renews ${day(after!.currentPeriodEnd)}`);
    expect(await page.getByRole("progressbar", { name: "Monthly credits used" }).getAttribute("aria-valuemax")).toBe("15000");
    await screenshots(page, "plan-next-period");
  });

  it("a renewal whose payment failed: the plan and its credits say so, and the dialog offers the unpaid invoice instead of a price", async () => {
    const { page, server } = app();
    const { plan } = await openOnlineStores(page);
    const subscriptions = (await emulatorControl(server.stripeEmulatorUrl, "/subscriptions", { method: "GET" })) as {
      data: Array<{ status: string; customer: string | { id: string } }>;
    };
    const live = subscriptions.data.filter((s) => s.status !== "canceled");
    expect(live).toHaveLength(1);
    const customer = live[0]!.customer;
    await emulatorControl(server.stripeEmulatorUrl, `/customers/${typeof customer === "string" ? customer : customer.id}/decline-next`, { body: { count: 1 } });
    await advanceEmulatorSubscriptions(server.stripeEmulatorUrl);
    await expect.poll(async () => (await plan())?.status, { timeout: 20_000 }).toBe("past_due");
    await page.reload();
    await shows(planLine(page));
    expect(await planText(page)).toMatch(/ · Payment past due$/);
    // Before, the card still promised "Renews …" for a renewal that had failed.
    await shows(page.getByText(/^Expires [A-Z][a-z]{2} \d{1,2}, \d{4} · the renewal is unpaid$/));
    expect(await page.getByText(/^Renews /).count()).toBe(0);

    // Before, the Monthly tab priced a raise and said why not only after it was confirmed, with the
    // invoice's address as text.
    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await shows(dialog.getByText("Your plan has an unpaid invoice. Pay it before adding monthly packages."));
    const pay = dialog.getByRole("link", { name: "Pay the unpaid invoice" });
    expect(await pay.getAttribute("href")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invoices\/in_/);
    expect(await dialog.getByRole("button", { name: /^Add [\d,]+ Credits$/ }).isDisabled()).toBe(true);
    await screenshots(page, "plan-past-due");
    // One-time credits can still be bought.
    await dialog.getByRole("tab", { name: "One-time" }).click();
    expect(await dialog.getByRole("button", { name: /^Add [\d,]+ Credits$/ }).isDisabled()).toBe(false);
  });
});
