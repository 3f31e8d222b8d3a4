import { describe, expect, it } from "vitest";
import { login, openGroupBilling, screenshots, shows } from "./support/browser.js";
import { setEmulatorFault, useAppAndBrowser } from "./support/suite.js";

// A file of its own: its app server is fresh, so no earlier page has put this group's invoices in
// the 30-second invoice cache (docs/decisions/0011-hardened-edges.md), and the outage below begins
// before the first invoices request. That the cache serves a successful answer for at most its TTL
// is tested exactly (database time) in tests/integration/security.test.ts, "outside calls are cached".
const app = useAppAndBrowser();

describe("group billing page during a Stripe outage (credits.md, Outages)", () => {
  it("leaves out the billing history and keeps the rest of the page; the history is back once Stripe answers", async () => {
    const { page, server } = app();
    await login(page, "org-admin@demo.test");
    await setEmulatorFault(server.stripeEmulatorUrl, "error");
    try {
      const invoices = page.waitForResponse((res) => res.url().includes("/billing/invoices"));
      await openGroupBilling(page, "Online Stores");
      expect((await invoices).status()).toBe(503);
      await shows(page.getByRole("heading", { name: "Group credits", level: 1 }));
      await shows(page.getByRole("heading", { name: "Monthly credits" }));
      await page.waitForLoadState("networkidle");
      expect(await page.getByRole("heading", { name: "Billing history" }).count()).toBe(0);
      expect(await page.getByText(/something went wrong|could not be shown/i).count()).toBe(0);
      await screenshots(page, "billing-outage");
    } finally {
      await setEmulatorFault(server.stripeEmulatorUrl, "none");
    }
    // The same page with Stripe reachable shows the history: its absence above was the outage.
    const answered = page.waitForResponse((res) => res.url().includes("/billing/invoices"));
    await page.reload();
    expect((await answered).status()).toBe(200);
    await shows(page.getByRole("heading", { name: "Billing history" }));
  });
});
