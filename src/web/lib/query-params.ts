import { useCallback } from "react";
import { useSearchParams } from "react-router";

/**
 * The page's query parameters, and `update`, which sets the named ones (null removes one) and
 * replaces the history entry. It starts from the address as it is now, not from react-router's
 * `prev`: every functional update made in one render gets the same `prev`, so of two changes made
 * at once (the history's month, then the usage's) the second would undo the first.
 */
export function useQueryParams() {
  const [params, setParams] = useSearchParams();
  const update = useCallback(
    (changes: Record<string, string | null>) =>
      setParams(
        () => {
          const next = new URLSearchParams(window.location.search);
          for (const [name, value] of Object.entries(changes)) {
            if (value === null) next.delete(name);
            else next.set(name, value);
          }
          return next;
        },
        { replace: true, preventScrollReset: true },
      ),
    [setParams],
  );
  return [params, update] as const;
}

const YEAR_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * The `YYYY-MM` month in the query parameter `name`, or null when it is missing or not a month the
 * API answers for (contracts/common.ts `isYearMonth`: years 1970 to 9998; not imported, to keep zod
 * out of the page's first load).
 */
export function monthParam(params: URLSearchParams, name: string): string | null {
  const value = params.get(name);
  return value && YEAR_MONTH.test(value) && Number(value.slice(0, 4)) >= 1970 && Number(value.slice(0, 4)) <= 9998 ? value : null;
}
