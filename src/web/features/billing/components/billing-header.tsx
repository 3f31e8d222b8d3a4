import type { ReactNode } from "react";
import { Skeleton, SkeletonLine } from "../../../components/ui/skeleton.js";
import { CreditRulesDialog } from "./credit-rules-dialog.js";

type BillingHeaderProps = {
  title: string;
  description: string;
  actions?: ReactNode;
};

export function BillingHeader({ title, description, actions }: BillingHeaderProps) {
  return (
    <header className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
      <div className="min-w-0">
        <div className="flex items-center gap-1.5">
          <h1 className="text-2xl leading-8 font-semibold tracking-tight">{title}</h1>
          <CreditRulesDialog />
        </div>
        <p className="mt-1 text-sm leading-5 text-muted-foreground">{description}</p>
      </div>
      {actions ? <div className="flex flex-col gap-2 sm:flex-row sm:items-center">{actions}</div> : null}
    </header>
  );
}

export function BillingHeaderSkeleton() {
  return (
    <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between" aria-hidden="true">
      <div className="min-w-0">
        <SkeletonLine className="h-8" barClassName="h-7 w-44" />
        <SkeletonLine className="mt-1 h-5" barClassName="h-3.5 w-72 max-w-full" />
        {/* The description wraps to a second line under 640 px: so does its placeholder. */}
        <SkeletonLine className="h-5 sm:hidden" barClassName="h-3.5 w-44" />
      </div>
      <Skeleton className="h-9 w-full sm:w-36" />
    </div>
  );
}
