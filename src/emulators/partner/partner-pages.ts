import { escapeHtml, formatMoney, renderPage } from "../shared/html.js";
import type { PartnerCharge } from "./partner-state.js";

const BANNER = "Partner billing emulator (test mode): no real payment is made";

function formatIsoDate(iso: string): string {
  return new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(iso));
}

export function renderReceiptPage(charge: PartnerCharge): string {
  return renderPage({
    title: `Receipt ${charge.id}`,
    banner: BANNER,
    body: `<h1>Receipt</h1>
<p class="muted"><span class="badge">Paid</span> on ${formatIsoDate(charge.createdAt)} · account ${escapeHtml(charge.accountId)}</p>
<table><tbody>
<tr><td>${escapeHtml(charge.description)}</td><td class="num">${formatMoney(charge)}</td></tr>
<tr class="total"><td>Total charged</td><td class="num">${formatMoney(charge)}</td></tr>
</tbody></table>
<p class="muted">Charge ${escapeHtml(charge.id)}</p>`,
  });
}

export function renderPortalPage({ accountId, charges }: { accountId: string; charges: PartnerCharge[] }): string {
  const rows =
    charges.length === 0
      ? '<tr><td colspan="3" class="muted">No charges yet.</td></tr>'
      : charges
          .map(
            (charge) => `<tr><td>${formatIsoDate(charge.createdAt)}</td><td>${escapeHtml(charge.description)}</td>
<td class="num"><a href="${escapeHtml(charge.receiptUrl)}">${formatMoney(charge)}</a></td></tr>`,
          )
          .join("");
  return renderPage({
    title: "Manage subscription",
    banner: BANNER,
    body: `<h1>Manage subscription</h1>
<p class="muted">Partner account ${escapeHtml(accountId)}. Your reseller bills this account; contact them to change the plan or the payment method.</p>
<table><thead><tr><th>Date</th><th>Description</th><th class="num">Amount</th></tr></thead><tbody>${rows}</tbody></table>`,
  });
}

export function renderPartnerNotFound(): string {
  return renderPage({ title: "Not found", banner: BANNER, body: "<h1>Not found</h1><p>This receipt does not exist.</p>" });
}
