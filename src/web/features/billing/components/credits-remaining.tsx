import type { BillingSummary } from "../../../../contracts/billing.js";
import { Card } from "../../../components/ui/card.js";
import { Progress } from "../../../components/ui/progress.js";
import { Skeleton, SkeletonLine } from "../../../components/ui/skeleton.js";
import { cn } from "../../../lib/cn.js";
import { formatDate, formatNumber } from "../../../lib/format.js";

/** At or above this share used, the bar turns orange. */
const WARNING_USED_SHARE = 0.66;

type CreditBalanceCardProps = {
  title: string;
  total: number;
  used: number;
  remaining: number;
  footnote: string;
};

function CreditBalanceCard({ title, total, used, remaining, footnote }: CreditBalanceCardProps) {
  const usedShare = total > 0 ? used / total : 0;
  const warning = usedShare >= WARNING_USED_SHARE;
  return (
    <Card className="p-5 sm:p-6">
      <h3 className="text-sm leading-5 font-medium text-muted-foreground">{title}</h3>
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
    </Card>
  );
}

export function CreditsRemaining({ credits }: { credits: BillingSummary["credits"] }) {
  const { monthly, oneTime } = credits;
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
              footnote={`Renews ${formatDate(monthly.periodEnd)}`}
            />
          ) : null}
          {oneTime ? (
            <CreditBalanceCard
              title="One-time credits"
              total={oneTime.total}
              used={oneTime.used}
              remaining={oneTime.remaining}
              footnote="Never expires"
            />
          ) : null}
        </div>
      ) : (
        <Card className="px-5 py-8 text-center sm:px-6">
          <p className="text-sm font-medium">No credits purchased for this group yet.</p>
          <p className="mt-1 text-sm text-muted-foreground">Once you add credits, every website in the group can use them.</p>
        </Card>
      )}
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
