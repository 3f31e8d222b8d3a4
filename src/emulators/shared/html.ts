/** Small helpers for the emulators' hosted HTML pages. */

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Formats integer minor units for display, e.g. (1250, "usd") -> "$12.50". */
export function formatMoney({ amount, currency }: { amount: number; currency: string }): string {
  const code = currency.toUpperCase();
  const digits = new Intl.NumberFormat("en-US", { style: "currency", currency: code }).resolvedOptions()
    .maximumFractionDigits ?? 2;
  return new Intl.NumberFormat("en-US", { style: "currency", currency: code }).format(amount / 10 ** digits);
}

export function formatDate(unixSeconds: number): string {
  return new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(unixSeconds * 1000),
  );
}

const baseCss = `
  *{box-sizing:border-box}
  body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f8fa;color:#1a1f36}
  main{max-width:460px;margin:48px auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:32px}
  h1{font-size:20px;margin:0 0 4px}
  .muted{color:#6b7385;font-size:14px}
  table{width:100%;border-collapse:collapse;margin:20px 0}
  td,th{padding:8px 0;text-align:left;font-size:14px;border-bottom:1px solid #eef0f3}
  td.num,th.num{text-align:right}
  .total td{font-weight:600;border-bottom:none;font-size:16px}
  button{width:100%;padding:12px;border:0;border-radius:8px;background:#635bff;color:#fff;font-size:16px;font-weight:600;cursor:pointer}
  button:hover{background:#5146e8}
  a{color:#635bff}
  .actions{margin-top:16px;text-align:center;font-size:14px}
  .badge{display:inline-block;padding:2px 8px;border-radius:999px;background:#d7f7e0;color:#0b6b2b;font-size:12px;font-weight:600}
  .banner{background:#fff8e1;color:#7a5b00;font-size:12px;text-align:center;padding:6px}
`;

export function renderPage({ title, banner, body }: { title: string; banner: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${baseCss}</style></head>
<body><div class="banner">${escapeHtml(banner)}</div><main>${body}</main></body>
</html>`;
}
