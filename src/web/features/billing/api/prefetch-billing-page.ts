import type { QueryClient } from "@tanstack/react-query";
import { billingSummaryQueryOptions } from "./get-billing-summary.js";
import { controlSettingsQueryOptions } from "./control-settings.js";
import { invoicesMonthOf, invoicesQueryOptions } from "./get-invoices.js";
import { usageMonthOf, usageQueryOptions } from "./get-usage.js";

/**
 * Asks for what the billing page shows on its first render, before the page's code has arrived:
 * the summary, then, when billing is on, the usage and the invoices of the months in the address
 * and the pool's settings. (A group without billing shows none of those, so they are not asked for.)
 * Settles when they have all answered; it never rejects.
 */
export async function prefetchBillingPage(queryClient: QueryClient, groupId: string, params: URLSearchParams): Promise<void> {
  const summary = await queryClient.fetchQuery(billingSummaryQueryOptions(groupId)).catch(() => undefined);
  if (!summary?.enabled) return;
  await Promise.all([
    queryClient.prefetchQuery(usageQueryOptions({ groupId, month: usageMonthOf(params) })),
    queryClient.prefetchQuery(invoicesQueryOptions({ groupId, month: invoicesMonthOf(params) })),
    queryClient.prefetchQuery(controlSettingsQueryOptions(groupId)),
  ]);
}
