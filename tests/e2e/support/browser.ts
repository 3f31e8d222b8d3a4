import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = resolve(import.meta.dirname, "../../../test-results");
export const DEMO_PASSWORD = "demo-password";

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile; uncaught page errors are collected in `errors`. */
export async function openBrowser({ baseUrl }: { baseUrl: string }): Promise<Browser & { errors: string[] }> {
  const profile = mkdtempSync(join(tmpdir(), "gb-e2e-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    baseURL: baseUrl,
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
    timezoneId: "UTC",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Logs in through the form and waits for the groups page. */
export async function login(page: Page, email: string) {
  await page.goto("/login");
  await fillLogin(page, email);
  await page.waitForURL(/\/orgs\/[^/]+\/groups$/);
}

/** Fills and submits the sign-in form that is on screen. */
export async function fillLogin(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

/** Opens a group's billing tab from the organization's groups page. */
export async function openGroupBilling(page: Page, groupName: string) {
  await page.getByRole("link", { name: groupName, exact: true }).click();
  await page.waitForURL(/\/groups\/[^/]+\/billing/);
}

/** Resolves once the browser has laid out and painted the current state (two animation frames). */
export async function painted(page: Page) {
  await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))));
}

/**
 * Full-page screenshot at 1280 px and 375 px into test-results/, of the page as loaded (it waits
 * for placeholders, e.g. the usage chart's while its chunk loads, to be replaced) and from its top.
 */
export async function screenshots(page: Page, name: string) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 900 };
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
    await page.waitForFunction(() => document.querySelector(".animate-pulse") === null, undefined, { timeout: 10_000 });
    // From the top: a full-page shot of a scrolled page draws the sticky header where the view was.
    await page.evaluate(() => window.scrollTo(0, 0));
    await painted(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

/** Waits until the locator is visible (Playwright's auto-waiting, without @playwright/test). */
export async function shows(locator: Locator, timeout = 10_000) {
  // Some text is rendered twice for two widths (table and stacked list); one of them must show.
  await locator.filter({ visible: true }).first().waitFor({ state: "visible", timeout });
}

/** Waits until no element matches the locator. */
export async function hides(locator: Locator, timeout = 10_000) {
  await locator.first().waitFor({ state: "hidden", timeout });
}

/**
 * Starts watching the page for the given texts and returns a function that answers which of them
 * have been on the page since: a state that lasts a moment (a purchase settled by the next poll)
 * is seen however busy the machine is, where waiting for it to be visible would race it.
 */
export async function watchTexts(page: Page, texts: string[]): Promise<() => Promise<string[]>> {
  await page.evaluate((wanted) => {
    const seen = new Set<string>();
    const look = () => {
      const text = document.body.textContent ?? "";
      for (const t of wanted) if (text.includes(t)) seen.add(t);
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, characterData: true });
    look();
    (window as unknown as { __seenTexts: Set<string> }).__seenTexts = seen;
  }, texts);
  return () => page.evaluate(() => [...(window as unknown as { __seenTexts: Set<string> }).__seenTexts]);
}
