import { useId, type ReactNode } from "react";
import { CircleAlert } from "lucide-react";
import type { BillingSummary } from "../../../../contracts/billing.js";
import { Card } from "../../../components/ui/card.js";
import { Progress } from "../../../components/ui/progress.js";
import { Skeleton, SkeletonLine } from "../../../components/ui/skeleton.js";
import { cn } from "../../../lib/cn.js";
import { formatDate, formatNumber } from "../../../lib/format.js";

/** At or above this share used, the bar turns orange. */
const WARNING_USED_SHARE = 0.66;

/** Renders an "Add Credits" control (the purchase dialog's trigger) with the given label. */
type AddCreditsAction = (props: { label: string; variant: "primary" | "secondary" }) => ReactNode;

type CreditBalanceCardProps = {
  title: string;
  total: number;
  used: number;
  remaining: number;
  footnote: string;
  /** What it means for the websites when this card is at zero. */
  usedUpMessage: string;
  addCredits: AddCreditsAction;
};

function CreditBalanceCard({ title, total, used, remaining, footnote, usedUpMessage, addCredits }: CreditBalanceCardProps) {
  const usedShare = total > 0 ? used / total : 0;
  const warning = usedShare >= WARNING_USED_SHARE;
  const usedUp = total > 0 && remaining <= 0;
  const titleId = useId();
  return (
    <Card className="flex flex-col p-5 sm:p-6" data-state={usedUp ? "used-up" : undefined} aria-labelledby={titleId}>
      <div className="flex items-center justify-between gap-3">
        <h3 id={titleId} className="text-sm leading-5 font-medium text-muted-foreground">
          {title}
        </h3>
        {usedUp ? (
          <span className="inline-flex items-center rounded-full bg-orange-50 px-2 py-0.5 text-xs font-medium text-orange-800 ring-1 ring-orange-200">
            Used up
          </span>
        ) : null}
      </div>
      <p className="mt-2 text-3xl leading-9 font-semibold tracking-tight tabular-nums">{formatNumber(remaining)}</p>
      <p className="text-sm leading-5 text-muted-foreground">remaining of {formatNumber(total)}</p>
      <Progress
        className="mt-4"
        value={used}
        max={total}
        label={`${title} used`}
        valueText={`${formatNumber(used)} of ${formatNumber(total)} credits used`}
        indicatorClassName={cn(warning ? "bg-meter-warning" : "bg-meter")}
      />
      <p className="mt-3 text-xs leading-4 text-muted-foreground">{footnote}</p>
      {usedUp ? (
        <div className="mt-4 flex flex-col gap-3 rounded-md border border-orange-200 bg-orange-50/60 p-3 sm:flex-row sm:items-center sm:justify-between">
          <p className="flex gap-2 text-sm leading-5 text-orange-900">
            <CircleAlert className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
            {usedUpMessage}
          </p>
          {addCredits({ label: "Add Credits", variant: "secondary" })}
        </div>
      ) : null}
    </Card>
  );
}

type CreditsRemainingProps = {
  credits: BillingSummary["credits"];
  plan: BillingSummary["plan"];
  /** The plan line ("Monthly plan · 3 packages · …"), shown under the cards. */
  planLine?: ReactNode;
  /** The purchase dialog's trigger, for the empty and used-up states. */
  addCredits: AddCreditsAction;
};

export function CreditsRemaining({ credits, plan, planLine, addCredits }: CreditsRemainingProps) {
  const { monthly, oneTime } = credits;
  const oneTimeLeft = (oneTime?.remaining ?? 0) > 0;
  return (
    <section aria-labelledby="credits-remaining-title">
      <h2 id="credits-remaining-title" className="mb-3 text-base leading-6 font-semibold">
        Credits remaining
      </h2>
      {monthly || oneTime ? (
        <div className={cn("grid gap-4", monthly && oneTime && "sm:grid-cols-2")}>
          {monthly ? (
            <CreditBalanceCard
              title="Monthly credits"
              total={monthly.total}
              used={monthly.used}
              remaining={monthly.remaining}
              footnote={
                plan?.status === "past_due"
                  ? `Expires ${formatDate(monthly.periodEnd)} · the renewal is unpaid`
                  : plan?.status === "canceling"
                    ? `Expires ${formatDate(monthly.periodEnd)} · the plan does not renew`
                    : `Renews ${formatDate(monthly.periodEnd)}`
              }
              usedUpMessage={
                oneTimeLeft
                  ? `This month’s credits are used up. Websites now draw on one-time credits until ${formatDate(monthly.periodEnd)}.`
                  : `This month’s credits are used up. Websites have no group credits until ${formatDate(monthly.periodEnd)}.`
              }
              addCredits={addCredits}
            />
          ) : null}
          {oneTime ? (
            <CreditBalanceCard
              title="One-time credits"
              total={oneTime.total}
              used={oneTime.used}
              remaining={oneTime.remaining}
              footnote="Never expires"
              usedUpMessage="All one-time credits are used."
              addCredits={addCredits}
            />
          ) : null}
        </div>
      ) : (
        <Card className="flex flex-col items-center px-5 py-8 text-center sm:px-6">
          <p className="text-sm font-medium">No credits purchased for this group yet.</p>
          <p className="mt-1 text-sm text-muted-foreground">Once you add credits, every website in the group can use them.</p>
          <div className="mt-4">{addCredits({ label: "Add Credits", variant: "secondary" })}</div>
        </Card>
      )}
      {planLine ? <div className="mt-4">{planLine}</div> : null}
    </section>
  );
}

export function CreditsRemainingSkeleton() {
  return (
    <div aria-hidden="true">
      <SkeletonLine className="mb-3 h-6" barClassName="h-4 w-36" />
      <div className="grid gap-4 sm:grid-cols-2">
        {[0, 1].map((key) => (
          <Card key={key} className="p-5 sm:p-6">
            <SkeletonLine className="h-5" barClassName="h-3.5 w-28" />
            <SkeletonLine className="mt-2 h-9" barClassName="h-8 w-32" />
            <SkeletonLine className="h-5" barClassName="h-3.5 w-36" />
            <Skeleton className="mt-4 h-2 w-full rounded-full" />
            <SkeletonLine className="mt-3 h-4" barClassName="h-3 w-28" />
          </Card>
        ))}
      </div>
    </div>
  );
}
