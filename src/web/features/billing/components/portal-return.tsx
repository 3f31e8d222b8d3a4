import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { billingKeys } from "../api/billing-keys.js";
import { useQueryParams } from "../../../lib/query-params.js";

/** After the return, the page asks again this long after loading: the portal's webhooks may still be on their way. */
const REFRESH_AFTER_MS = [1_500, 4_000, 8_000];

/**
 * Back from the Stripe customer portal (`?portal=return`): the change made there reaches us by
 * webhook, usually before the page loads but not always, so the billing data is read again a few
 * times; the parameter is dropped so a reload or a shared link does not repeat it.
 */
export function PortalReturn({ groupId }: { groupId: string }) {
  const [searchParams, update] = useQueryParams();
  const [returned] = useState(() => searchParams.get("portal") === "return");
  const queryClient = useQueryClient();

  useEffect(() => {
    if (!returned) return;
    update({ portal: null });
    const timers = REFRESH_AFTER_MS.map((ms) => window.setTimeout(() => void queryClient.invalidateQueries({ queryKey: billingKeys.all(groupId) }), ms));
    return () => timers.forEach((timer) => window.clearTimeout(timer));
  }, [returned, groupId, queryClient, update]);

  return null;
}
