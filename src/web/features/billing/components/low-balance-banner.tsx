import { CircleAlert, TriangleAlert } from "lucide-react";
import type { BillingSummary } from "../../../../contracts/billing.js";
import { formatNumber } from "../../../lib/format.js";
import { useControlSettings } from "../api/control-settings.js";
import { AddCreditsDialog } from "./add-credits-dialog.js";

/**
 * At the top of the page: amber while the pool is under the low-balance threshold (with "Add
 * Credits"), red when a failed payment turned auto top-up off (saying why).
 */
export function LowBalanceBanner({ groupId, billing }: { groupId: string; billing: BillingSummary }) {
  const { data: settings } = useControlSettings(groupId);
  if (!settings) return null;
  return (
    <>
      {settings.autoTopUpDisabledReason ? (
        <div role="alert" className="flex items-start gap-3 rounded-xl border border-red-300 bg-red-50 p-4 text-red-950 sm:items-center">
          <CircleAlert className="mt-0.5 size-5 shrink-0 text-red-700 sm:mt-0" aria-hidden="true" />
          <div className="min-w-0 flex-1 text-sm">
            <p className="font-semibold">Auto top-up is off</p>
            <p>{settings.autoTopUpDisabledReason} Turn it on again under Controls once the payment method is fixed.</p>
          </div>
        </div>
      ) : null}
      {settings.poolLow && settings.lowBalanceThreshold !== null ? (
        <div role="status" className="flex flex-col gap-3 rounded-xl border border-amber-300 bg-amber-50 p-4 text-amber-950 sm:flex-row sm:items-center">
          <div className="flex min-w-0 flex-1 items-start gap-3">
            <TriangleAlert className="mt-0.5 size-5 shrink-0 text-amber-700" aria-hidden="true" />
            <div className="text-sm">
              <p className="font-semibold">Group credits are running low</p>
              <p>
                {formatNumber(settings.poolAvailable)} credits left in the pool, under your alert threshold of {formatNumber(settings.lowBalanceThreshold)}.
              </p>
            </div>
          </div>
          <AddCreditsDialog groupId={groupId} billing={billing} triggerLabel="Add Credits" />
        </div>
      ) : null}
    </>
  );
}
