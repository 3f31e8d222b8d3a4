import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BillingUnavailableError, createPartnerGateway } from "../../server/integrations/partner/index.js";
import { startPartnerEmulator } from "./index.js";

const API_KEY = "partner_test_key";
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup({ dataDir = null, timeoutMs }: { dataDir?: string | null; timeoutMs?: number } = {}) {
  const emulator = await startPartnerEmulator({ port: 0, dataDir, apiKey: API_KEY });
  cleanups.push(() => emulator.close());
  const gateway = createPartnerGateway({ apiBase: emulator.url, apiKey: API_KEY, timeoutMs });
  return { emulator, gateway };
}

const purchase = (idempotencyKey: string) => ({
  accountId: "acct_agency",
  amount: 2500,
  currency: "usd",
  description: "2 × 1,000 group credits (one-time)",
  idempotencyKey,
});

describe("partner emulator through the partner gateway", () => {
  it("charges once for the same idempotency key", async () => {
    const { emulator, gateway } = await setup();
    const first = await gateway.charge(purchase("pur_1"));
    const second = await gateway.charge(purchase("pur_1"));
    expect(first.ok && second.ok && first.charge.id === second.charge.id).toBe(true);
    expect(emulator.charges()).toHaveLength(1);
    expect(first).toMatchObject({ ok: true, charge: { amount: 2500, currency: "usd", status: "succeeded", accountId: "acct_agency" } });
  });

  it("refuses to reuse an idempotency key for a different charge", async () => {
    const { emulator, gateway } = await setup();
    await gateway.charge(purchase("pur_1"));
    const reused = await gateway.charge({ ...purchase("pur_1"), amount: 9900 });
    expect(reused).toMatchObject({ ok: false, code: "rejected" });
    expect(emulator.charges()).toHaveLength(1);
  });

  it("reports a decline with the partner's message and charges nothing", async () => {
    const { emulator, gateway } = await setup();
    emulator.setFault("decline");
    const result = await gateway.charge(purchase("pur_declined"));
    expect(result).toEqual({ ok: false, code: "declined", reason: "The partner account's payment method was declined." });
    expect(emulator.charges()).toHaveLength(0);
  });

  it("gives up on a hanging partner within about 3 s as an unknown outcome, and the retry with the same key charges once", async () => {
    const { emulator, gateway } = await setup();
    emulator.setFault("hang");
    const started = Date.now();
    const result = await gateway.charge(purchase("pur_retry"));
    expect(Date.now() - started).toBeLessThan(3500);
    // The request was sent: the gateway cannot know whether the partner charged.
    expect(result).toEqual({ ok: false, code: "unknown", reason: "The partner billing service did not answer in time." });
    await expect(gateway.listCharges("acct_agency")).rejects.toBeInstanceOf(BillingUnavailableError);

    emulator.setFault("none");
    expect((await gateway.charge(purchase("pur_retry"))).ok).toBe(true);
    expect((await gateway.charge(purchase("pur_retry"))).ok).toBe(true);
    expect(emulator.charges()).toHaveLength(1);
  });

  it("turns partner 500s into ok:false and listCharges into BillingUnavailableError", async () => {
    const { emulator, gateway } = await setup();
    const response = await fetch(`${emulator.url}/_emulator/fault`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-emulator-control-token": emulator.controlToken },
      body: JSON.stringify({ mode: "error" }),
    });
    expect(response.status).toBe(200);
    expect(await gateway.charge(purchase("pur_err"))).toMatchObject({ ok: false, code: "unavailable" });
    await expect(gateway.listCharges("acct_agency")).rejects.toBeInstanceOf(BillingUnavailableError);
  });

  it("takes the charge but answers late under the delay fault: the timed-out client finds it by its idempotency key", async () => {
    const { emulator, gateway } = await setup({ timeoutMs: 300 });
    emulator.setFault("delay", { delayMs: 2000 });
    const started = Date.now();
    const result = await gateway.charge(purchase("pur_slow"));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result).toEqual({ ok: false, code: "unknown", reason: "The partner billing service did not answer in time." });
    // The money moved although the client gave up.
    expect(emulator.charges()).toHaveLength(1);

    // Lookups answer at once even while charges are slow.
    const found = await gateway.findChargeByIdempotencyKey("pur_slow");
    expect(found).toMatchObject({ id: emulator.charges()[0]?.id, amount: 2500, currency: "usd", accountId: "acct_agency" });
    expect(await gateway.findChargeByIdempotencyKey("pur_never_sent")).toBeNull();

    // Sending the same charge again answers the first charge and takes no second one.
    emulator.setFault("none");
    const retried = await gateway.charge(purchase("pur_slow"));
    expect(retried.ok && retried.charge.id === found?.id).toBe(true);
    expect(emulator.charges()).toHaveLength(1);
  });

  it("sets the delay fault over HTTP, and the late answer still arrives for a patient client", async () => {
    const { emulator } = await setup();
    const patient = createPartnerGateway({ apiBase: emulator.url, apiKey: API_KEY, timeoutMs: 2000 });
    const response = await fetch(`${emulator.url}/_emulator/fault`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-emulator-control-token": emulator.controlToken },
      body: JSON.stringify({ mode: "delay", delayMs: 250 }),
    });
    expect(await response.json()).toEqual({ mode: "delay", delayMs: 250 });
    const started = Date.now();
    const result = await patient.charge(purchase("pur_patient"));
    // A real outside delay is what is tested here: the answer must not come before it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(result.ok).toBe(true);
  });

  it("finds no charge for a declined attempt's key, so the purchase can be settled as not charged", async () => {
    const { emulator, gateway } = await setup();
    emulator.setFault("decline");
    expect(await gateway.charge(purchase("pur_no"))).toMatchObject({ ok: false, code: "declined" });
    expect(await gateway.findChargeByIdempotencyKey("pur_no")).toBeNull();
    emulator.setFault("error");
    await expect(gateway.findChargeByIdempotencyKey("pur_no")).rejects.toBeInstanceOf(BillingUnavailableError);
  });

  it("tells a connection lost after sending (unknown) from one refused before sending (unavailable)", async () => {
    // A partner that reads the whole request, then drops the connection without answering.
    const dropper = createServer((socket) => socket.once("data", () => setTimeout(() => socket.destroy(), 20)));
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => dropper.close(() => resolve())));
    const { port } = dropper.address() as AddressInfo;
    const gateway = createPartnerGateway({ apiBase: `http://127.0.0.1:${port}`, apiKey: API_KEY });
    expect(await gateway.charge(purchase("pur_lost"))).toEqual({
      ok: false,
      code: "unknown",
      reason: "The connection to the partner billing service was lost before it answered.",
    });
    await expect(gateway.findChargeByIdempotencyKey("pur_lost")).rejects.toBeInstanceOf(BillingUnavailableError);
  });

  it("reports an unreachable partner as unavailable: nothing was sent", async () => {
    const { emulator, gateway } = await setup();
    await emulator.close();
    expect(await gateway.charge(purchase("pur_gone"))).toEqual({
      ok: false,
      code: "unavailable",
      reason: "The partner billing service could not be reached.",
    });
  });

  it("lists an account's charges newest first as invoices with receipt pages", async () => {
    const { gateway } = await setup();
    await gateway.charge(purchase("pur_a"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await gateway.charge({ ...purchase("pur_b"), amount: 5000, description: "Monthly credits" });
    await gateway.charge({ ...purchase("pur_c"), accountId: "acct_other" });
    const invoices = await gateway.listCharges("acct_agency");
    expect(invoices.map((invoice) => invoice.total.amount)).toEqual([5000, 2500]);
    expect(invoices[0]).toMatchObject({ description: "Monthly credits", total: { currency: "usd" }, number: null });
    const receipt = await fetch(invoices[0]?.hostedInvoiceUrl ?? "");
    expect(receipt.status).toBe(200);
    expect(await receipt.text()).toContain("$50.00");
  });

  it("rejects a wrong API key and a missing idempotency key", async () => {
    const { emulator } = await setup();
    const wrongKey = await fetch(`${emulator.url}/v1/charges?accountId=a`, { headers: { authorization: "Bearer nope" } });
    expect(wrongKey.status).toBe(401);
    const noKey = await fetch(`${emulator.url}/v1/charges`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ accountId: "a", amount: 1, currency: "usd", description: "x" }),
    });
    expect(noKey.status).toBe(400);
  });

  it("refuses fault controls without the per-run control token", async () => {
    const { emulator, gateway } = await setup();
    for (const headers of [{}, { "x-emulator-control-token": "emu_wrong" }] as Array<Record<string, string>>) {
      const response = await fetch(`${emulator.url}/_emulator/fault`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ mode: "decline" }),
      });
      expect(response.status).toBe(401);
    }
    expect((await gateway.charge(purchase("pur_after_forged_fault"))).ok).toBe(true);
  });

  it("serves a portal page for the account", async () => {
    const { emulator, gateway } = await setup();
    await gateway.charge(purchase("pur_portal"));
    const page = await fetch(`${emulator.url}/portal/acct_agency`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Manage subscription");
    expect(html).toContain("$25.00");
  });

  it("keeps charges and idempotency keys across a restart with a dataDir", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "partner-emulator-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const first = await setup({ dataDir });
    const charged = await first.gateway.charge(purchase("pur_persist"));
    await first.emulator.close();

    const second = await setup({ dataDir });
    const again = await second.gateway.charge(purchase("pur_persist"));
    expect(again.ok && charged.ok && again.charge.id === charged.charge.id).toBe(true);
    expect(second.emulator.charges()).toHaveLength(1);
    expect(await second.gateway.listCharges("acct_agency")).toHaveLength(1);
  });
});
