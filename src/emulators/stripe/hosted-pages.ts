import type Stripe from "stripe";
import { escapeHtml, formatDate, formatMoney, renderPage } from "../shared/html.js";
import type { CheckoutRecord } from "./emulator-state.js";

const BANNER = "Stripe emulator (test mode): no real payment is made";

export function renderCheckoutPage(record: CheckoutRecord): string {
  const { session, lineItems } = record;
  const currency = session.currency ?? "usd";
  const perMonth = session.mode === "subscription" ? " / month" : "";
  const rows = lineItems
    .map((item) => {
      const unit = formatMoney({ amount: item.price?.unit_amount ?? 0, currency });
      return `<tr><td>${escapeHtml(item.description ?? "Item")}<div class="muted">Qty ${item.quantity ?? 1} × ${unit}${perMonth}</div></td>
<td class="num">${formatMoney({ amount: item.amount_total, currency })}</td></tr>`;
    })
    .join("");
  const total = formatMoney({ amount: session.amount_total ?? 0, currency });
  const action =
    session.status === "open"
      ? `<form method="post" action="/checkout/${escapeHtml(session.id)}/pay"><button type="submit">Pay</button></form>
${session.cancel_url ? `<div class="actions"><a href="${escapeHtml(session.cancel_url)}">Cancel</a></div>` : ""}`
      : `<p><span class="badge">Paid</span> This checkout is complete.</p>
${session.success_url ? `<div class="actions"><a href="${escapeHtml(session.success_url)}">Return to the merchant</a></div>` : ""}`;
  return renderPage({
    title: "Checkout",
    banner: BANNER,
    body: `<h1>${session.mode === "subscription" ? "Subscribe" : "Pay"}</h1>
<p class="muted">Test card 4242 4242 4242 4242 is assumed.</p>
<table><tbody>${rows}<tr class="total"><td>Total${perMonth ? " due today" : ""}</td><td class="num">${total}</td></tr></tbody></table>
${action}`,
  });
}

export function renderInvoicePage(invoice: Stripe.Invoice): string {
  const rows = invoice.lines.data
    .map(
      (line) => `<tr><td>${escapeHtml(line.description ?? "")}<div class="muted">${formatDate(line.period.start)}${
        line.period.end !== line.period.start ? ` – ${formatDate(line.period.end)}` : ""
      }</div></td><td class="num">${formatMoney({ amount: line.amount, currency: line.currency })}</td></tr>`,
    )
    .join("");
  const paidAt = invoice.status_transitions.paid_at;
  return renderPage({
    title: `Invoice ${invoice.number ?? invoice.id}`,
    banner: BANNER,
    body: `<h1>Invoice ${escapeHtml(invoice.number ?? invoice.id)}</h1>
<p class="muted">${invoice.status === "paid" ? '<span class="badge">Paid</span>' : escapeHtml(invoice.status ?? "")}
${paidAt ? ` on ${formatDate(paidAt)}` : ""}</p>
${invoice.description ? `<p>${escapeHtml(invoice.description)}</p>` : ""}
<table><tbody>${rows}<tr class="total"><td>Amount paid</td><td class="num">${formatMoney({
      amount: invoice.amount_paid,
      currency: invoice.currency,
    })}</td></tr></tbody></table>
<p class="muted">${escapeHtml(invoice.account_name ?? "")}</p>`,
  });
}

export function renderNotFoundPage(what: string): string {
  return renderPage({ title: "Not found", banner: BANNER, body: `<h1>Not found</h1><p>${escapeHtml(what)}</p>` });
}
