import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Loader2 } from "lucide-react";
import { toast } from "../../../components/ui/toast.js";
import { isApiError } from "../../../lib/api-client.js";
import { formatNumber } from "../../../lib/format.js";
import { billingKeys } from "../api/billing-keys.js";
import { isPurchaseSettled, PURCHASE_POLL_TIMEOUT_MS, usePurchaseStatus } from "../api/get-purchase-status.js";
import { useQueryParams } from "../../../lib/query-params.js";

/**
 * Handles the return from Stripe Checkout (`?checkout=success&purchase=<id>` or `?checkout=cancelled`),
 * and a purchase whose payment was still being confirmed when its dialog closed (`?purchase=<id>`: a
 * partner charge answered late): waits for the purchase to settle, tells the user how it ended (the
 * credits, or why nothing was charged), refreshes the balance, then cleans the URL.
 */
export function CheckoutReturn({ groupId }: { groupId: string }) {
  const [searchParams, update] = useQueryParams();
  const checkout = searchParams.get("checkout");
  const purchaseId = checkout === "success" || checkout === null ? searchParams.get("purchase") : null;
  const [startedAt] = useState(() => Date.now());
  const [timedOut, setTimedOut] = useState(false);
  const reported = useRef<string | null>(null);
  const queryClient = useQueryClient();
  const purchase = usePurchaseStatus({ groupId, purchaseId, startedAt });
  const status = purchase.data?.status;

  // Stop waiting after the polling window even when no answer ever arrives.
  useEffect(() => {
    if (!purchaseId) return;
    const timer = window.setTimeout(() => setTimedOut(true), Math.max(0, startedAt + PURCHASE_POLL_TIMEOUT_MS - Date.now()));
    return () => window.clearTimeout(timer);
  }, [purchaseId, startedAt]);

  useEffect(() => {
    if (checkout === null && purchaseId === null) return;
    const report = (key: string, show: () => void) => {
      if (reported.current === key) return;
      reported.current = key;
      show();
      // Drop the checkout parameters so a reload or a shared link does not repeat the notice.
      update({ checkout: null, purchase: null });
    };

    if (checkout !== null && checkout !== "success") {
      report("cancelled", () => toast({ tone: "info", title: "Checkout cancelled. Nothing was charged." }));
      return;
    }
    if (!purchaseId) {
      report("success", () => void queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) }));
      return;
    }
    if (status === "completed") {
      report(purchaseId, () => {
        toast({ tone: "success", title: `Payment received — ${formatNumber(purchase.data?.credits ?? 0)} credits added` });
        void queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) });
      });
    } else if (isPurchaseSettled(status)) {
      report(purchaseId, () =>
        toast({
          tone: "error",
          title: status === "expired" ? "Checkout cancelled. Nothing was charged." : "The payment did not go through.",
          description: purchase.data?.failureReason ?? undefined,
        }),
      );
    } else if (isApiError(purchase.error) && purchase.error.status >= 400 && purchase.error.status < 500) {
      // Not a purchase of this group (a stale or edited link): nothing to wait for.
      report(purchaseId, () => toast({ tone: "error", title: "This payment was not found" }));
    } else if (timedOut || purchase.isError) {
      report(purchaseId, () => {
        toast({
          tone: "info",
          title: "Your payment is still being confirmed",
          description: "The credits will appear on this page shortly.",
        });
        void queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) });
      });
    }
  }, [checkout, purchaseId, status, timedOut, purchase.data, purchase.isError, groupId, queryClient, update]);

  if (!purchaseId || isPurchaseSettled(status) || timedOut || purchase.isError) return null;
  return (
    <p role="status" className="flex items-center gap-2 rounded-lg border bg-background px-4 py-3 text-sm text-muted-foreground">
      <Loader2 className="size-4 shrink-0 animate-spin" aria-hidden="true" />
      Waiting for payment confirmation. Your credits will appear here in a moment.
    </p>
  );
}
