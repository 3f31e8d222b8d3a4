import { Card } from "../../../components/ui/card.js";

/** How a service spends credits with a key: the one request most integrations need. */
export function UsageExample() {
  const origin = window.location.origin;
  const example = [
    `curl ${origin}/api/v1/usage \\`,
    `  -H "Authorization: Bearer $API_KEY" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"websiteId": "<website id>", "credits": 25, "idempotencyKey": "order-1042"}'`,
  ].join("\n");
  return (
    <section aria-labelledby="usage-example-title" className="flex flex-col gap-3">
      <h2 id="usage-example-title" className="text-base leading-6 font-semibold">
        Spend credits
      </h2>
      <Card className="overflow-hidden">
        <p className="px-4 pt-4 text-sm text-muted-foreground sm:px-6">
          Send the key as a bearer token. A website spends its own credits first, then its group’s; the same idempotency key never
          spends twice. Each website’s id is on its group’s Overview tab.
        </p>
        <pre className="m-4 overflow-x-auto rounded-lg bg-zinc-950 p-4 font-mono text-xs leading-5 text-zinc-100 sm:mx-6 sm:mb-6">
          <code>{example}</code>
        </pre>
      </Card>
    </section>
  );
}
