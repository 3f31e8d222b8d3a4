import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { EMULATOR_CONTROL_TOKEN, startAppServer, type AppServer } from "./app-server.js";
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

/** A call to a local emulator's controls (`/_emulator/*`), with this run's control token. */
export async function emulatorControl(emulatorUrl: string, path: string, { method = "POST", body }: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${emulatorUrl}/_emulator${path}`, {
    method,
    headers: { "Content-Type": "application/json", "X-Emulator-Control-Token": EMULATOR_CONTROL_TOKEN },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`emulator control ${method} ${path} on ${emulatorUrl} answered ${response.status}`);
  return response.json() as Promise<unknown>;
}

/** Puts a local emulator (Stripe or partner) into a fault mode, e.g. "error", "decline", or back to "none". */
export async function setEmulatorFault(emulatorUrl: string, mode: string, options: { delayMs?: number } = {}) {
  await emulatorControl(emulatorUrl, "/fault", { body: { mode, ...options } });
}

/** Moves every live subscription of the Stripe emulator to its next period (renewal, scheduled changes, cancellation at period end). */
export async function advanceEmulatorSubscriptions(stripeEmulatorUrl: string, { customer }: { customer?: string } = {}) {
  const list = (await emulatorControl(stripeEmulatorUrl, `/subscriptions${customer ? `?customer=${encodeURIComponent(customer)}` : ""}`, {
    method: "GET",
  })) as { data: Array<{ id: string; status: string }> };
  for (const subscription of list.data.filter((candidate) => candidate.status !== "canceled")) {
    await emulatorControl(stripeEmulatorUrl, `/subscriptions/${subscription.id}/advance`);
  }
}
