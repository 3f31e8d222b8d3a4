import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { isApiError } from "../lib/api-client.js";

/** Called when any request answers 401; the router sends the user to /login. */
let onUnauthenticated: () => void = () => {};

export function setUnauthenticatedHandler(handler: () => void) {
  onUnauthenticated = handler;
}

function handleError(error: unknown) {
  if (isApiError(error) && error.status === 401) onUnauthenticated();
}

export const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: handleError }),
  mutationCache: new MutationCache({ onError: handleError }),
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // Client errors (403, 404, ...) will not change by asking again; outages get one more try.
      retry: (failureCount, error) => (isApiError(error) && error.status >= 400 && error.status < 500 ? false : failureCount < 1),
      // A failed query is not asked again just because another component showing it mounts (the
      // page's skeleton gives way to the error, a card appears): one failing request, not two.
      // "Try again" or coming back to the window asks again.
      retryOnMount: false,
    },
  },
});
