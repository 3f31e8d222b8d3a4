import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { AppError } from "../../errors.js";

/**
 * Where an alert webhook may be sent (SSRF): only http(s), and never to an address inside our own
 * network. Link-local and cloud metadata addresses are refused always; loopback and private
 * ranges only unless `allowPrivate` (ALLOW_PRIVATE_WEBHOOKS=1, for the local demo and tests).
 */

const alwaysRefused = new BlockList();
alwaysRefused.addSubnet("0.0.0.0", 8, "ipv4"); // "this network"
alwaysRefused.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, incl. 169.254.169.254 (cloud metadata)
alwaysRefused.addSubnet("100.100.100.200", 32, "ipv4"); // Alibaba metadata
alwaysRefused.addSubnet("192.0.0.0", 24, "ipv4"); // IETF protocol assignments (incl. Oracle metadata 192.0.0.192)
alwaysRefused.addSubnet("224.0.0.0", 4, "ipv4"); // multicast
alwaysRefused.addSubnet("240.0.0.0", 4, "ipv4"); // reserved, broadcast
alwaysRefused.addSubnet("::", 128, "ipv6"); // unspecified
alwaysRefused.addSubnet("fe80::", 10, "ipv6"); // link-local
alwaysRefused.addSubnet("ff00::", 8, "ipv6"); // multicast
alwaysRefused.addSubnet("fd00:ec2::254", 128, "ipv6"); // AWS metadata over IPv6

const privateRanges = new BlockList();
privateRanges.addSubnet("127.0.0.0", 8, "ipv4"); // loopback
privateRanges.addSubnet("10.0.0.0", 8, "ipv4");
privateRanges.addSubnet("172.16.0.0", 12, "ipv4");
privateRanges.addSubnet("192.168.0.0", 16, "ipv4");
privateRanges.addSubnet("100.64.0.0", 10, "ipv4"); // carrier-grade NAT
privateRanges.addSubnet("198.18.0.0", 15, "ipv4"); // benchmarking
privateRanges.addSubnet("::1", 128, "ipv6"); // loopback
privateRanges.addSubnet("fc00::", 7, "ipv6"); // unique local

/** An IPv4 address hidden in an IPv6 one (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d), as dotted quad. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why an IP address may not receive webhooks, or null when it may. */
export function refusedAddressReason(address: string, allowPrivate: boolean): string | null {
  const v4 = isIP(address) === 6 ? embeddedIpv4(address) : null;
  const ip = v4 ?? address;
  const family = isIP(ip) === 4 ? "ipv4" : isIP(ip) === 6 ? "ipv6" : null;
  if (!family) return "is not an IP address";
  if (alwaysRefused.check(ip, family)) return "is a link-local, metadata or reserved address";
  if (!allowPrivate && privateRanges.check(ip, family)) return "is a loopback or private address";
  return null;
}

const DNS_TIMEOUT_MS = 3_000;

async function resolveAll(hostname: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("DNS lookup timed out")), DNS_TIMEOUT_MS);
  });
  try {
    const found = await Promise.race([lookup(hostname, { all: true, verbatim: true }), timeout]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

/** The URL's host without IPv6 brackets. */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Parse and check a webhook URL, resolving its host name; throws `invalid_request` saying why not. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError("invalid_request", "The webhook URL is not a valid URL.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AppError("invalid_request", "The webhook URL must start with http:// or https://.");
  const host = hostOf(url);
  const addresses = isIP(host) ? [host] : await resolveAll(host).catch(() => null);
  if (!addresses || addresses.length === 0) throw new AppError("invalid_request", `The webhook URL's host ${host} could not be resolved.`);
  for (const address of addresses) {
    const reason = refusedAddressReason(address, allowPrivate);
    if (reason) throw new AppError("invalid_request", `The webhook URL's host ${host} resolves to ${address}, which ${reason}; webhooks are only sent to public addresses.`);
  }
  return url;
}
