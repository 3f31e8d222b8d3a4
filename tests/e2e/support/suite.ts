import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { startAppServer, type AppServer } from "./app-server.js";
import { openBrowser, type Browser } from "./browser.js";

/**
 * One app server (fresh demo data) per test file and one fresh browser per test; a test fails
 * if the page threw an uncaught error.
 */
export function useAppAndBrowser(env: Record<string, string> = {}) {
  const state: { server?: AppServer; browser?: Browser & { errors: string[] } } = {};
  beforeAll(async () => {
    state.server = await startAppServer(env);
  });
  afterAll(async () => {
    await state.server?.stop();
  });
  beforeEach(async () => {
    if (!state.server) throw new Error("the app server has not started");
    const browser = await openBrowser({ baseUrl: state.server.baseUrl });
    state.browser = browser;
    return async () => {
      await browser.close();
      expect(browser.errors).toEqual([]);
    };
  });
  const app = () => {
    if (!state.server) throw new Error("the app server has not started");
    return {
      server: state.server,
      // A getter: `app().server` also works in beforeAll, before any browser is open.
      get page() {
        return state.browser?.page ?? failNoBrowser();
      },
    };
  };
  return app;
}

function failNoBrowser(): never {
  throw new Error("no browser is open outside a test");
}

/** Puts a local emulator (Stripe or partner) into a fault mode, e.g. "error", "decline", or back to "none". */
export async function setEmulatorFault(emulatorUrl: string, mode: string) {
  const response = await fetch(`${emulatorUrl}/_emulator/fault`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ mode }),
  });
  if (!response.ok) throw new Error(`could not set fault ${mode} on ${emulatorUrl}: ${response.status}`);
}
