import type Stripe from "stripe";
import { escapeHtml, formatDate, formatMoney, renderPage } from "../shared/html.js";

const BANNER = "Stripe emulator (test mode): customer portal";

export type PortalNotice = "cancelled" | "resumed" | "lowered" | "unchanged" | "invalid_quantity" | "ended";

const NOTICES: Record<PortalNotice, string> = {
  cancelled: "Your plan will be cancelled at the end of the current period.",
  resumed: "Your plan will renew as before.",
  lowered: "Your new quantity starts with the next period.",
  unchanged: "No change is pending for the next period.",
  invalid_quantity: "Choose a quantity between 1 and the current number of packages. To add packages, buy them on the billing page.",
  ended: "This plan has ended and can no longer be changed.",
};

export interface PortalPlanView {
  subscription: Stripe.Subscription;
  scheduledQuantity: number | null;
}

export function renderPortalPage({
  urlToken,
  formToken,
  customer,
  plans,
  returnUrl,
  notice,
}: {
  urlToken: string;
  formToken: string;
  customer: Stripe.Customer;
  plans: PortalPlanView[];
  returnUrl: string | null;
  notice: PortalNotice | null;
}): string {
  const base = `/p/session/${encodeURIComponent(urlToken)}`;
  const tokenField = `<input type="hidden" name="form_token" value="${escapeHtml(formToken)}">`;
  const sections = plans.map(({ subscription, scheduledQuantity }) => {
    const item = subscription.items.data[0];
    const quantity = item?.quantity ?? 1;
    const unit = item?.price.unit_amount ?? 0;
    const periodEnd = item?.current_period_end ?? 0;
    const action = `${base}/subscriptions/${encodeURIComponent(subscription.id)}`;
    const status = subscription.cancel_at_period_end
      ? `Cancels on ${formatDate(periodEnd)}`
      : scheduledQuantity !== null
        ? `Changes to ${scheduledQuantity} packages on ${formatDate(periodEnd)}`
        : `Renews on ${formatDate(periodEnd)}`;
    const controls = subscription.cancel_at_period_end
      ? `<form method="post" action="${action}/resume">${tokenField}<button type="submit">Resume plan</button></form>`
      : `<form method="post" action="${action}/quantity" class="stack">${tokenField}
<label for="quantity-${escapeHtml(subscription.id)}">Packages from the next period</label>
<input id="quantity-${escapeHtml(subscription.id)}" name="quantity" type="number" min="1" max="${quantity}" step="1" value="${scheduledQuantity ?? quantity}" required>
<button type="submit">Update quantity</button></form>
<form method="post" action="${action}/cancel">${tokenField}<button type="submit" class="secondary">Cancel plan</button></form>`;
    return `<section aria-label="${escapeHtml(item?.price.nickname ?? "Plan")}">
<h2>${escapeHtml(item?.price.nickname ?? "Plan")}</h2>
<p>${quantity} packages · ${formatMoney({ amount: unit * quantity, currency: subscription.currency })} / month</p>
<p class="muted">${status}${subscription.status === "past_due" ? " · Payment past due" : ""}</p>
${controls}
</section>`;
  });
  return renderPage({
    title: "Manage plan",
    banner: BANNER,
    body: `<h1>Manage plan</h1>
<p class="muted">${escapeHtml(customer.name ?? customer.id)}</p>
${notice ? `<p role="status">${escapeHtml(NOTICES[notice])}</p>` : ""}
${sections.length > 0 ? sections.join("") : '<p class="muted">No active plan.</p>'}
${returnUrl ? `<div class="actions"><a href="${escapeHtml(returnUrl)}">Return to Group Billing</a></div>` : ""}
<style>section{border-top:1px solid #eef0f3;padding-top:12px;margin-top:12px}h2{font-size:16px;margin:0 0 4px}
form{margin-top:12px}.stack{display:grid;gap:8px}input[type=number]{padding:8px;font-size:16px;border:1px solid #d0d5dd;border-radius:8px}
button.secondary{background:#fff;color:#b42318;border:1px solid #f2c0bb}button.secondary:hover{background:#fef3f2}</style>`,
  });
}
