import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import type { InvoicesResponse } from "../../../../contracts/billing.js";
import { monthParam } from "../../../lib/query-params.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

/** The history's month filter is in the address as `?month=YYYY-MM`; without it, all months. */
export const INVOICES_MONTH_PARAM = "month";

export function invoicesMonthOf(params: URLSearchParams): string | null {
  return monthParam(params, INVOICES_MONTH_PARAM);
}

export async function getInvoices({ groupId, month, signal }: { groupId: string; month: string | null; signal?: AbortSignal }) {
  const query = month ? `?month=${encodeURIComponent(month)}` : "";
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/invoices${query}`, { signal })) as InvoicesResponse;
}

export function invoicesQueryOptions({ groupId, month }: { groupId: string; month: string | null }) {
  return queryOptions({
    queryKey: billingKeys.invoices(groupId, month),
    queryFn: ({ signal }) => getInvoices({ groupId, month, signal }),
    // Keep the table on screen while another month loads.
    placeholderData: keepPreviousData,
  });
}

export function useInvoices({ groupId, month, enabled = true }: { groupId: string; month: string | null; enabled?: boolean }) {
  return useQuery({ ...invoicesQueryOptions({ groupId, month }), enabled });
}
