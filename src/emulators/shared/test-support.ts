import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Test helpers: a tiny HTTP receiver for webhooks, and polling. */
export interface ReceivedRequest {
  body: string;
  signature: string | undefined;
}

export async function startWebhookReceiver({ failFirst = 0 }: { failFirst?: number } = {}) {
  const received: ReceivedRequest[] = [];
  let attempts = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      attempts += 1;
      if (attempts <= failFirst) {
        response.writeHead(500).end("not yet");
        return;
      }
      const signature = request.headers["stripe-signature"];
      received.push({ body: Buffer.concat(chunks).toString("utf8"), signature: typeof signature === "string" ? signature : undefined });
      response.writeHead(200, { "content-type": "application/json" }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    attempts: () => attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function waitFor<T>(check: () => T | undefined | null | false, { timeoutMs = 3000, intervalMs = 20 } = {}): Promise<T> {
  const started = Date.now();
  for (;;) {
    const result = check();
    if (result) return result;
    if (Date.now() - started > timeoutMs) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Presses a button of an emulator's hosted page (Checkout's "Pay", the portal's "Cancel plan"...)
 * as a browser would: posts the button's form with its hidden fields (the page's form token).
 */
export async function pressHostedButton({
  pageUrl,
  button,
  fields = {},
}: {
  pageUrl: string;
  button: string;
  fields?: Record<string, string>;
}): Promise<Response> {
  const html = await fetch(pageUrl).then((response) => response.text());
  const form = [...html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((match) =>
    new RegExp(`<button[^>]*>${button}</button>`).test(match[2] ?? ""),
  );
  if (!form?.[1]) throw new Error(`no "${button}" button at ${pageUrl}`);
  const body = new URLSearchParams();
  for (const hidden of (form[2] ?? "").matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) body.set(hidden[1] ?? "", hidden[2] ?? "");
  for (const [name, value] of Object.entries(fields)) body.set(name, value);
  return fetch(new URL(form[1], pageUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
    redirect: "manual",
  });
}
