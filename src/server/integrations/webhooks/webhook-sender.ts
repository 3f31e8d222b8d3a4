import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { AlertSender, AlertSendResult } from "../../modules/controls/ports.js";
import { refusedAddressReason } from "../../modules/controls/webhook-url-guard.js";

/**
 * Sends alert webhooks with node's http client. The address is checked when the connection is
 * made (a custom DNS lookup), so a name that resolved to a public address at save time and to
 * an internal one now (DNS rebinding) is refused; redirects are not followed.
 */
export function createWebhookSender({ allowPrivate, timeoutMs = 5_000 }: { allowPrivate: boolean; timeoutMs?: number }): AlertSender {
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 4);
      const list = addresses;
      for (const a of list) {
        const reason = refusedAddressReason(a.address, allowPrivate);
        if (reason) return callback(Object.assign(new Error(`${hostname} resolves to ${a.address}, which ${reason}`), { code: "EREFUSED_ADDRESS" }), "", 4);
      }
      if (list.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };

  return {
    send: ({ url, body, headers }) =>
      new Promise<AlertSendResult>((resolve) => {
        let target: URL;
        try {
          target = new URL(url);
        } catch {
          return resolve({ ok: false, error: "invalid URL" });
        }
        if (target.protocol !== "http:" && target.protocol !== "https:") return resolve({ ok: false, error: "only http(s) URLs" });
        const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
        if (isIP(host)) {
          const reason = refusedAddressReason(host, allowPrivate);
          if (reason) return resolve({ ok: false, error: `${host} ${reason}` });
        }
        const client = target.protocol === "https:" ? https : http;
        const req = client.request(
          target,
          {
            method: "POST",
            lookup: guardedLookup,
            timeout: timeoutMs,
            headers: { "content-type": "application/json", "user-agent": "GroupBilling-Webhooks/1.0", "content-length": Buffer.byteLength(body), ...headers },
          },
          (res) => {
            res.resume(); // the answer's body is not ours to read
            const status = res.statusCode ?? 0;
            res.once("end", () => resolve(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, error: `HTTP ${status}` }));
            res.once("error", () => resolve({ ok: false, error: `HTTP ${status}, answer cut off` }));
          },
        );
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        req.once("close", () => clearTimeout(timer));
        req.once("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.once("error", (err) => resolve({ ok: false, error: err.message.slice(0, 300) }));
        req.end(body);
      }),
  };
}
