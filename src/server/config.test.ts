import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("configuration", () => {
  it("refuses a real STRIPE_SECRET_KEY without STRIPE_WEBHOOK_SECRET, and names the variable", () => {
    expect(() => loadConfig({ STRIPE_SECRET_KEY: "sk_test_123" })).toThrow(/STRIPE_WEBHOOK_SECRET: is required with STRIPE_SECRET_KEY/);
    expect(() => loadConfig({ STRIPE_SECRET_KEY: "sk_test_123", STRIPE_WEBHOOK_SECRET: "" })).toThrow(/STRIPE_WEBHOOK_SECRET/);
    expect(loadConfig({ STRIPE_SECRET_KEY: "sk_test_123", STRIPE_WEBHOOK_SECRET: "whsec_real" }).STRIPE_WEBHOOK_SECRET).toBe("whsec_real");
  });

  it("lets only the local emulator use the public webhook secret", () => {
    expect(loadConfig({}).STRIPE_WEBHOOK_SECRET).toBe("whsec_local_emulator_secret");
  });

  it("reads TRUST_PROXY as a list of addresses and refuses anything else", () => {
    expect(loadConfig({}).TRUST_PROXY).toEqual([]);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.1, ::1" }).TRUST_PROXY).toEqual(["10.0.0.1", "::1"]);
    expect(() => loadConfig({ TRUST_PROXY: "10.0.0.0/8" })).toThrow(/TRUST_PROXY/);
  });
});
