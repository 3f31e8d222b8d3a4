import type Stripe from "stripe";
import { escapeHtml, formatDate, formatMoney, renderPage } from "../shared/html.js";
import type { CheckoutRecord, StripeEmulatorState } from "./emulator-state.js";

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
      ? `<form method="post" action="/checkout/${escapeHtml(session.id)}/pay"><input type="hidden" name="form_token" value="${escapeHtml(record.formToken ?? "")}"><button type="submit">Pay</button></form>
${session.cancel_url ? `<div class="actions"><a href="${escapeHtml(session.cancel_url)}">Cancel</a></div>` : ""}`
      : session.status === "expired"
        ? `<p role="alert">This checkout session has expired. Nothing was charged.</p>
${session.cancel_url ? `<div class="actions"><a href="${escapeHtml(session.cancel_url)}">Return to the merchant</a></div>` : ""}`
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
${invoice.description && !invoice.lines.data.some((line) => line.description?.startsWith(invoice.description!)) ? `<p>${escapeHtml(invoice.description)}</p>` : ""}
<table><tbody>${rows}<tr class="total"><td>Amount paid</td><td class="num">${formatMoney({
      amount: invoice.amount_paid,
      currency: invoice.currency,
    })}</td></tr></tbody></table>
<p class="muted">${escapeHtml(invoice.account_name ?? "")}</p>`,
  });
}

export function renderHomePage(): string {
  return renderPage({
    title: "Stripe emulator",
    banner: BANNER,
    body: `<h1>Stripe emulator</h1><p class="muted">Open the dashboard with the link (and control token) printed when the emulator started.</p>`,
  });
}

export function renderNotFoundPage(what: string): string {
  return renderPage({ title: "Not found", banner: BANNER, body: `<h1>Not found</h1><p>${escapeHtml(what)}</p>` });
}

/** The emulator's home: subscriptions (with a test-clock style "Advance" button) and recent invoices. */
export function renderDashboardPage({ state, controlToken }: { state: StripeEmulatorState; controlToken: string }): string {
  const tokenField = `<input type="hidden" name="control_token" value="${escapeHtml(controlToken)}">`;
  const subs = Object.values(state.subscriptions);
  const rows = subs
    .map((s) => {
      const item = s.items.data[0];
      const advance =
        s.status === "canceled"
          ? ""
          : `<form method="post" action="/_emulator/subscriptions/${escapeHtml(s.id)}/advance">${tokenField}<button type="submit">Advance to next period</button></form>`;
      return `<tr><td>${escapeHtml(s.id)}<div class="muted">${escapeHtml(typeof s.customer === "string" ? s.customer : s.customer.id)}</div></td><td>${escapeHtml(s.status)}${
        s.cancel_at_period_end ? " (cancels at period end)" : ""
      }</td><td class="num">${item?.quantity ?? 0}</td><td>${item ? `${formatDate(item.current_period_start)} – ${formatDate(item.current_period_end)}` : ""}</td><td>${advance}</td></tr>`;
    })
    .join("");
  const invoices = [...state.invoices]
    .sort((a, b) => b.created - a.created)
    .slice(0, 20)
    .map(
      (i) =>
        `<tr><td><a href="/invoices/${escapeHtml(i.id)}">${escapeHtml(i.number ?? i.id)}</a></td><td>${formatDate(i.created)}</td><td class="num">${formatMoney({ amount: i.total, currency: i.currency })}</td></tr>`,
    )
    .join("");
  return renderPage({
    title: "Stripe emulator",
    banner: BANNER,
    body: `<h1>Subscriptions</h1>${
      subs.length ? `<table><thead><tr><th>Subscription</th><th>Status</th><th>Qty</th><th>Current period</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : `<p class="muted">No subscriptions yet.</p>`
    }<h1>Recent invoices</h1>${invoices ? `<table><tbody>${invoices}</tbody></table>` : `<p class="muted">No invoices yet.</p>`}`,
  });
}
