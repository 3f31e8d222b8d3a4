import { describe, expect, it } from "vitest";
import { login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { setEmulatorFault, useAppAndBrowser } from "./support/suite.js";

// A file (and so a server) of its own: the invoices are cached for a while once a page has shown
// them, and this test needs the first request for them to meet the outage.
const app = useAppAndBrowser();

describe("a Stripe outage", () => {
  it("leaves out the billing history during a Stripe outage and keeps the rest of the page", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await setEmulatorFault(server.stripeEmulatorUrl, "error");
    let billingUrl = "";
    try {
      const invoices = page.waitForResponse((res) => res.url().includes("/billing/invoices"));
      await openGroupBilling(page, "Online Stores");
      billingUrl = page.url();
      expect((await invoices).status()).toBe(503);
      await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));
      await shows(page.getByRole("heading", { name: "Monthly credits" }));
      await page.waitForLoadState("networkidle");
      expect(await page.getByRole("heading", { name: "Billing history" }).count()).toBe(0);
      expect(await page.getByText(/something went wrong|could not be shown/i).count()).toBe(0);
      await screenshots(page, "billing-outage");
    } finally {
      // Leave the page first: its query retries a 503 once, about a second later, and that answer
      // (still the outage's) must not be taken for the reloaded page's.
      await page.goto("about:blank");
      await setEmulatorFault(server.stripeEmulatorUrl, "none");
    }
    // The same page with Stripe reachable shows the history: its absence above was the outage.
    const answered = page.waitForResponse((res) => res.url().includes("/billing/invoices"));
    await page.goto(billingUrl);
    expect((await answered).status()).toBe(200);
    await shows(page.getByRole("heading", { name: "Billing history" }));
  });
});
