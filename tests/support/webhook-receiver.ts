import { createServer, type Server } from "node:http";

export interface ReceivedWebhook {
  body: string;
  json: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  signature: string;
  answeredWith: number;
}

/**
 * A customer's webhook endpoint on 127.0.0.1: records every POST and answers with the next status
 * of `statuses` (then 200), e.g. [500, 500] fails twice and then accepts.
 */
export async function startWebhookReceiver(statuses: number[] = []) {
  const received: ReceivedWebhook[] = [];
  const queue = [...statuses];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const status = queue.shift() ?? 200;
      received.push({ body, json: JSON.parse(body) as ReceivedWebhook["json"], signature: String(req.headers["group-billing-signature"] ?? ""), answeredWith: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks/billing`,
    received,
    /** Answer the next requests with these statuses. */
    failNext: (...s: number[]) => queue.push(...s),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
