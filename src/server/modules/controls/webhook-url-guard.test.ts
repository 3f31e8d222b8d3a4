import { describe, expect, it } from "vitest";
import { checkWebhookUrl, refusedAddressReason } from "./webhook-url-guard.js";
import { signatureHeader, verifySignature } from "./signing.js";

describe("webhook URL guard (SSRF)", () => {
  it.each(["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "::1", "fd12::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:a00:1"])(
    "refuses the private address %s unless private webhooks are allowed",
    (ip) => {
      expect(refusedAddressReason(ip, false)).toMatch(/loopback or private/);
      expect(refusedAddressReason(ip, true)).toBeNull();
    },
  );

  it.each(["169.254.169.254", "169.254.0.1", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "fd00:ec2::254", "100.100.100.200", "192.0.0.192"])(
    "always refuses the link-local, metadata or reserved address %s",
    (ip) => {
      expect(refusedAddressReason(ip, true)).toMatch(/link-local|reserved|private/);
      expect(refusedAddressReason(ip, false)).not.toBeNull();
    },
  );

  it.each(["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111"])("accepts the public address %s", (ip) => {
    expect(refusedAddressReason(ip, false)).toBeNull();
  });

  it("checks where a host name resolves to, not only how it is written", async () => {
    await expect(checkWebhookUrl("http://localhost:8080/hook", false)).rejects.toThrow(/resolves to .*loopback/);
    await expect(checkWebhookUrl("http://localhost:8080/hook", true)).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("http://[::ffff:10.0.0.1]/", false)).rejects.toMatchObject({ code: "invalid_request" });
    await expect(checkWebhookUrl("gopher://93.184.216.34/", false)).rejects.toThrow(/http/);
    await expect(checkWebhookUrl("https://93.184.216.34/hook", false)).resolves.toBeInstanceOf(URL);
  });
});

describe("webhook signatures", () => {
  it("signs t.body with HMAC-SHA256 like Stripe, and a receiver can check it", () => {
    const header = signatureHeader("whsec_abc", '{"a":1}', 1_700_000_000);
    // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_abc
    expect(header).toBe("t=1700000000,v1=3b843bacfb18cc5554542fdcc84d815b399c52758e508a6fcecf0a2af4efea2b");
    expect(verifySignature("whsec_abc", '{"a":1}', header, 300, 1_700_000_000_000)).toBe(true);
    expect(verifySignature("whsec_abc", '{"a":2}', header, 300, 1_700_000_000_000)).toBe(false);
    expect(verifySignature("whsec_abd", '{"a":1}', header, 300, 1_700_000_000_000)).toBe(false);
    expect(verifySignature("whsec_abc", '{"a":1}', header, 300, 1_700_000_000_000 + 301_000)).toBe(false);
  });
});
