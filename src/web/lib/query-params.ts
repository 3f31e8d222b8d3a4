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
