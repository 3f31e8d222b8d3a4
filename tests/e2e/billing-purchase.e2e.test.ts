import { describe, expect, it } from "vitest";
import { hides, login, openGroupBilling, screenshots, shows, watchTexts } from "./support/browser.js";
import { setEmulatorFault, useAppAndBrowser } from "./support/suite.js";

const app = useAppAndBrowser();

describe("enabling billing and buying credits", () => {
  it("enables billing on a fresh group and shows the empty credits dashboard", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Marketing Sites");

    await shows(page.getByRole("heading", { name: "Billing", level: 1 }));
    await shows(page.getByRole("heading", { name: "Group billing not enabled" }));
    expect(await page.getByRole("button", { name: "Add Credits" }).count()).toBe(0);
    await screenshots(page, "billing-not-enabled");

    const enables: string[] = [];
    page.on("request", (req) => void (req.url().endsWith("/billing/enable") && enables.push(req.method())));
    await page.getByRole("button", { name: "Enable Billing" }).dblclick();
    await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));
    await page.waitForTimeout(1_000); // a second request would have been sent by now
    expect(enables).toEqual(["POST"]); // a double click enables once
    await shows(page.getByText("No credits purchased for this group yet."));
    await shows(page.getByRole("button", { name: "Add Credits", exact: true }));
    await shows(page.getByRole("heading", { name: "Marketing Sites", level: 2 }));
    expect(await page.getByRole("heading", { name: "Billing history" }).count()).toBe(0);
    await screenshots(page, "billing-empty");

    // No paid invoices: the history stays hidden also with a month in the address (a shared link).
    const filtered = new URL(page.url());
    filtered.search = "?month=2026-05";
    const invoices = page.waitForResponse((res) => res.url().includes("/billing/invoices?month=2026-05"));
    await page.goto(filtered.href);
    expect((await invoices).status()).toBe(200);
    await shows(page.getByText("No credits purchased for this group yet."));
    await page.waitForTimeout(300); // the answer is rendered
    expect(await page.getByRole("heading", { name: "Billing history" }).count()).toBe(0);
  });

  it("buys one-time credits through Stripe Checkout and confirms the payment on return", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    await shows(page.getByRole("heading", { name: "One-time credits" }));
    const before = Number(await page.getByRole("progressbar", { name: "One-time credits used" }).getAttribute("aria-valuemax"));

    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    for (let i = 0; i < 4; i++) await dialog.getByRole("button", { name: "Increase quantity" }).click();
    const purchase = page.waitForRequest((req) => req.url().endsWith("/billing/purchases") && req.method() === "POST");
    await dialog.getByRole("button", { name: "Add 5,000 Credits" }).click();
    const request = await purchase;
    expect(request.headers()["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(request.postDataJSON()).toEqual({ type: "one_time", quantity: 5 });

    // The local Stripe emulator's Checkout page.
    await page.waitForURL((url) => !url.href.startsWith(server.baseUrl));
    await page.getByRole("button", { name: "Pay" }).click();

    await page.waitForURL(/\/groups\/[^/]+\/billing/);
    await shows(page.getByText("Payment received — 5,000 credits added"), 40_000);
    await page.waitForFunction(() => !location.search.includes("checkout"));
    await page.waitForFunction(
      (expected) => Number(document.querySelector('[aria-label="One-time credits used"]')?.getAttribute("aria-valuemax")) === expected,
      before + 5000,
    );
    await screenshots(page, "billing-after-checkout");
  });

  it("tells the user nothing was charged when Checkout is cancelled, and grants nothing", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const groupId = /\/groups\/([^/]+)\/billing/.exec(page.url())?.[1] ?? "";
    const summary = async () => (await (await page.request.get(`/api/groups/${groupId}/billing`)).json()) as { credits: unknown };
    const before = await summary();

    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    // Read the real answer as it passes (the page leaves for Checkout before its body could be read later).
    let purchaseId = "";
    await page.route("**/billing/purchases", async (route) => {
      const response = await route.fetch();
      purchaseId = ((await response.json()) as { purchaseId: string }).purchaseId;
      await route.fulfill({ response });
    });
    await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
    await page.waitForURL((url) => !url.href.startsWith(server.baseUrl));
    await page.getByRole("link", { name: "Cancel" }).click();

    await page.waitForURL(/\/groups\/[^/]+\/billing/);
    await shows(page.getByText("Checkout cancelled. Nothing was charged."));
    await page.waitForFunction(() => !location.search.includes("checkout"));
    expect(purchaseId).not.toBe("");
    // What the notice claims: the purchase did not complete and the balance did not move.
    const purchase = (await (await page.request.get(`/api/groups/${groupId}/billing/purchases/${purchaseId}`)).json()) as { status: string; credits: number };
    expect(purchase.status).not.toBe("completed");
    expect((await summary()).credits).toEqual(before.credits);
  });

  it("raises an active monthly plan without a second Checkout", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    await shows(page.getByRole("heading", { name: "Monthly credits" }));
    await page.getByRole("button", { name: "Add More Credits" }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("tab", { name: "Monthly" }).click();
    await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
    // The server either completes the raise at once or sends the user to Checkout; both are handled.
    await Promise.race([
      hides(dialog, 20_000).then(() => shows(page.getByText("Added 1,000 credits"))),
      page.waitForURL((url) => !url.href.startsWith(server.baseUrl), { timeout: 20_000 }),
    ]);
  });

  it("charges a partner-managed group directly and announces the new credits", async () => {
    const { page } = app();
    await login(page, "partner-admin@demo.test");
    await openGroupBilling(page, "Agency Clients");
    await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));

    const portal = page.getByRole("link", { name: "Manage subscription" });
    await shows(portal);
    expect(await portal.getAttribute("target")).toBe("_blank");
    expect(await portal.getAttribute("rel")).toBe("noopener noreferrer");
    expect(await portal.getAttribute("href")).toMatch(/^https?:\/\//);
    await screenshots(page, "billing-partner");

    const addButton = page.getByRole("button", { name: /^Add (More )?Credits$/ });
    await addButton.click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    await dialog.getByRole("button", { name: "Increase quantity" }).click();
    await dialog.getByRole("button", { name: "Add 2,000 Credits" }).click();

    await hides(dialog, 20_000);
    const toast = page.getByRole("status").filter({ hasText: "Added 2,000 credits" });
    await shows(toast.or(page.getByText("Added 2,000 credits")));
    await shows(page.getByRole("heading", { name: "One-time credits" }));
    await shows(page.getByRole("button", { name: "Add More Credits" }));
  });

  it("shows a declined partner charge inside the dialog and succeeds on retry", async () => {
    const { page, server } = app();
    await login(page, "partner-admin@demo.test");
    await openGroupBilling(page, "Agency Clients");
    await page.getByRole("button", { name: /^Add (More )?Credits$/ }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    const keys: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith("/billing/purchases")) keys.push(req.headers()["idempotency-key"] ?? "");
    });
    await setEmulatorFault(server.partnerEmulatorUrl, "decline");
    try {
      await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
      const alert = dialog.getByRole("alert");
      await shows(alert, 20_000);
      expect((await alert.textContent())?.length).toBeGreaterThan(0);
      await screenshots(page, "add-credits-declined");
    } finally {
      await setEmulatorFault(server.partnerEmulatorUrl, "none");
    }
    await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
    await hides(dialog, 20_000);
    await shows(page.getByText("Added 1,000 credits"));
    // A decline is final and replayed for its key, so the retry is a new attempt with a new key
    // (a double click or a retry after an unknown outcome keeps the key).
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it("follows a partner charge answered too late until it settles, then shows its credits", async () => {
    const { page, server } = app();
    await login(page, "partner-admin@demo.test");
    await openGroupBilling(page, "Agency Clients");
    const oneTime = page.getByRole("region", { name: "One-time credits" });
    const remaining = async () => Number((await oneTime.getByText(/^[\d,]+$/).first().textContent())!.replace(/,/g, ""));
    await shows(oneTime);
    const before = await remaining();
    await page.getByRole("button", { name: /^Add (More )?Credits$/ }).click();
    const dialog = page.getByRole("dialog", { name: "Add group credits" });
    // The partner charges at once but answers after our 3 s timeout: the purchase is pending.
    await setEmulatorFault(server.partnerEmulatorUrl, "delay", { delayMs: 6000 });
    // The waiting state lasts until the next look at the purchase, which may be a moment on a busy
    // machine: it is recorded as it appears rather than raced.
    const processing = "Payment processing";
    const waiting = "Waiting for payment confirmation. Your credits will appear here in a moment.";
    const seen = await watchTexts(page, [processing, waiting]);
    try {
      await dialog.getByRole("button", { name: "Add 1,000 Credits" }).click();
      await hides(dialog, 20_000);
      // Before, the page said nothing more: the credits came only with a reload, and a failure never.
      await shows(page.getByText("Payment received — 1,000 credits added"), 30_000);
      expect((await seen()).sort()).toEqual([processing, waiting].sort());
      await expect.poll(remaining, { timeout: 10_000 }).toBe(before + 1_000);
      expect(new URL(page.url()).searchParams.get("purchase")).toBeNull();
    } finally {
      await setEmulatorFault(server.partnerEmulatorUrl, "none");
    }
  });
  it("says a payment in the address that is not this group's was not found, instead of promising its credits", async () => {
    const { page } = app();
    await login(page, "org-admin@demo.test");
    await openGroupBilling(page, "Online Stores");
    const url = new URL(page.url());
    const stillConfirming = "Your payment is still being confirmed";
    for (const purchase of ["00000000-0000-4000-8000-000000000000", "abc"]) {
      url.search = `?checkout=success&purchase=${purchase}`;
      await page.goto(url.toString());
      const seen = await watchTexts(page, [stillConfirming]);
      // Before, it waited for the polling window and then said the credits would appear shortly.
      await shows(page.getByText("This payment was not found"), 5_000);
      expect(new URL(page.url()).searchParams.get("purchase")).toBeNull();
      expect(await seen()).toEqual([]);
    }
  });
});
