import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import type { UsageReport } from "../../../../contracts/insight.js";
import { monthParam } from "../../../lib/query-params.js";
import { apiRequest } from "../../../lib/api-client.js";
import { billingKeys } from "./billing-keys.js";

/** The usage section's month is in the address as `?usage=YYYY-MM`; without it, the current month. */
export const USAGE_MONTH_PARAM = "usage";

/** The current month in UTC, `YYYY-MM`. */
export const currentMonth = () => new Date().toISOString().slice(0, 7);

export function usageMonthOf(params: URLSearchParams): string {
  return monthParam(params, USAGE_MONTH_PARAM) ?? currentMonth();
}

export async function getUsage({ groupId, month, signal }: { groupId: string; month: string; signal?: AbortSignal }) {
  return (await apiRequest(`/api/groups/${encodeURIComponent(groupId)}/billing/usage?month=${encodeURIComponent(month)}`, { signal })) as UsageReport;
}

export function usageQueryOptions({ groupId, month }: { groupId: string; month: string }) {
  return queryOptions({
    queryKey: billingKeys.usage(groupId, month),
    queryFn: ({ signal }) => getUsage({ groupId, month, signal }),
    // Keep the chart on screen while another month loads.
    placeholderData: keepPreviousData,
  });
}

export function useUsage({ groupId, month }: { groupId: string; month: string }) {
  return useQuery(usageQueryOptions({ groupId, month }));
}

/** The ledger export of one month (inclusive UTC dates). */
export function ledgerCsvUrl({ groupId, month }: { groupId: string; month: string }) {
  const [year, m] = month.split("-").map(Number) as [number, number];
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `/api/groups/${encodeURIComponent(groupId)}/billing/ledger.csv?from=${month}-01&to=${month}-${String(last).padStart(2, "0")}`;
}
