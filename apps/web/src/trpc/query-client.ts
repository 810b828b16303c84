import { defaultShouldDehydrateQuery, QueryClient } from "@tanstack/react-query";
import superjson from "superjson";

/** Attempts after the first one for an error that may pass on its own (network, 5xx). */
export const MAX_RETRIES = 2;

/**
 * The HTTP status a tRPC error carries in its `data` (set by the API's error
 * formatter), or undefined for errors that never reached the server (network,
 * aborted fetch) or did not come from tRPC at all.
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("data" in error)) return undefined;
  const data = error.data;
  if (typeof data !== "object" || data === null || !("httpStatus" in data)) return undefined;
  return typeof data.httpStatus === "number" ? data.httpStatus : undefined;
}

/**
 * A 4xx says the request itself is wrong (unauthenticated, forbidden, not found,
 * invalid, rate limited): repeating it only repeats the refusal and delays the
 * message the user needs, so only errors without a status and 5xx are retried.
 */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (failureCount >= MAX_RETRIES) return false;
  const status = httpStatusOf(error);
  return status === undefined || status >= 500;
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Server-prefetched data is fresh on arrival; don't refetch it right after hydration.
        staleTime: 30_000,
        retry: shouldRetry,
      },
      dehydrate: {
        serializeData: superjson.serialize,
        // Stream pending prefetches too, so a slow query doesn't block the page shell.
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === "pending",
        shouldRedactErrors: () => false,
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}
