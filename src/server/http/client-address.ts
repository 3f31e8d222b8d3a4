import type { Context } from "hono";

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same IPv4 client. */
const normalize = (address: string) => (address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address).toLowerCase();

/** The socket's peer, or "unknown" when the app is called without a socket (app.request in tests). */
function socketAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return address ? normalize(address) : "unknown";
}

/**
 * The client's address for throttling: the socket's peer, unless that peer is one of the trusted
 * proxies (`TRUST_PROXY`); then X-Forwarded-For is read from the right, skipping trusted proxies,
 * and the first address no trusted proxy vouches for is the client. A client talking to us
 * directly cannot change its address by sending X-Forwarded-For.
 */
export function clientAddress(c: Context, trustedProxies: readonly string[]): string {
  const peer = socketAddress(c);
  if (trustedProxies.length === 0 || !trustedProxies.includes(peer)) return peer;
  const hops = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((h) => normalize(h.trim()))
    .filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    client = hops[i]!;
    if (!trustedProxies.includes(client)) break;
  }
  // A value that is not an address (a forged header through a sloppy proxy) is kept short.
  return client.slice(0, 64);
}
