import { useState } from "react";
import { ExternalLink, Loader2, Repeat } from "lucide-react";
import type { BillingSummary, PlanSummary } from "../../../../contracts/billing.js";
import { Button } from "../../../components/ui/button.js";
import { formatDate, formatMoney, pluralize } from "../../../lib/format.js";
import { useCreatePortalSession } from "../api/create-portal-session.js";

/** "Renews Dec 27, 2026", "Cancels on Dec 27, 2026", "Changes to 2 packages on Dec 27, 2026", "Payment past due". */
export function planStatusText(plan: PlanSummary): string {
  if (plan.status === "past_due") return "Payment past due";
  if (plan.status === "canceling") return `Cancels on ${formatDate(plan.cancelAt ?? plan.currentPeriodEnd)}`;
  if (plan.nextPeriodPackages !== null && plan.nextPeriodPackages !== plan.packages) {
    return `Changes to ${pluralize(plan.nextPeriodPackages, "package")} on ${formatDate(plan.currentPeriodEnd)}`;
  }
  return `Renews ${formatDate(plan.currentPeriodEnd)}`;
}

type PlanLineProps = {
  groupId: string;
  plan: PlanSummary;
  customerType: BillingSummary["customerType"];
};

/**
 * The group's monthly plan in one line: "Monthly plan · 3 packages · $24.00 / month · Renews Dec 27, 2026",
 * with "Manage plan" (a Stripe customer portal session) for standard customers. Partner customers
 * manage theirs with "Manage subscription" in the header.
 */
export function PlanLine({ groupId, plan, customerType }: PlanLineProps) {
  const status = planStatusText(plan);
  const attention = plan.status !== "active";
  return (
    <div
      className="flex flex-col gap-3 rounded-lg border bg-zinc-50/70 px-4 py-3 sm:flex-row sm:items-center sm:justify-between"
      aria-label="Monthly plan"
      role="group"
    >
      <p className="flex min-w-0 items-start gap-2.5 text-sm leading-5">
        <Repeat className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden="true" />
        <span>
          <span className="font-medium">Monthly plan</span>
          <Dot />
          <span className="whitespace-nowrap tabular-nums">{pluralize(plan.packages, "package")}</span>
          <Dot />
          <span className="whitespace-nowrap tabular-nums">{formatMoney(plan.price)} / month</span>
          <Dot />
          <span className={attention ? "font-medium text-orange-800" : "text-muted-foreground"}>{status}</span>
        </span>
      </p>
      {customerType === "standard" ? <ManagePlanButton groupId={groupId} /> : null}
    </div>
  );
}

/** A visual separator; the spaces around it stay readable, so a screen reader does not run the parts together. */
function Dot() {
  return (
    <>
      {" "}
      <span className="text-muted-foreground" aria-hidden="true">
        ·
      </span>{" "}
    </>
  );
}

function ManagePlanButton({ groupId }: { groupId: string }) {
  const portal = useCreatePortalSession(groupId);
  const [leaving, setLeaving] = useState(false);
  const working = portal.isPending || leaving;

  async function open() {
    if (working) return;
    try {
      const { url } = await portal.mutateAsync();
      setLeaving(true);
      window.location.assign(url);
    } catch {
      // Shown below from the mutation state.
    }
  }

  return (
    <div className="flex shrink-0 flex-col items-start gap-1 sm:items-end">
      <Button variant="ghost" size="sm" onClick={() => void open()} disabled={working}>
        {working ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
        Manage plan
        {working ? null : <ExternalLink aria-hidden="true" />}
      </Button>
      {portal.isError ? (
        <p role="alert" className="text-xs text-destructive">
          {portal.error.message}
        </p>
      ) : null}
    </div>
  );
}
