import type { AppRouter } from "@stowage/api";
import { dehydrate, type FetchQueryOptions, HydrationBoundary, type QueryKey } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCOptionsProxy, type TRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { cache } from "react";
import superjson from "superjson";
import { getApi } from "~/server/api";
import { makeQueryClient } from "./query-client";

/** One QueryClient per server request. */
export const getQueryClient = cache(makeQueryClient);

// Server components call the very handler that serves /api/trpc, in process:
// same context creation, same session resolution from the request's cookies,
// no network hop.
const getServerClient = cache(async () => {
  const incoming = await headers();
  const forwarded = new Headers();
  for (const name of ["cookie", "user-agent", "x-forwarded-for", "x-real-ip"]) {
    const value = incoming.get(name);
    if (value) forwarded.set(name, value);
  }
  forwarded.set("x-trpc-source", "rsc");
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: "http://internal/api/trpc",
        transformer: superjson,
        headers: () => forwarded,
        fetch: (url, init) => getApi().handlers.trpc(new Request(url, init as RequestInit)),
      }),
    ],
  });
});

/** Options proxy for prefetching in server components. Call inside a request. */
export async function getServerTRPC(): Promise<TRPCOptionsProxy<AppRouter>> {
  return createTRPCOptionsProxy<AppRouter>({ client: await getServerClient(), queryClient: getQueryClient });
}

/** Starts a query on the server; its result (or its pending promise) streams to the client. */
export function prefetch<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(options: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>): void {
  void getQueryClient().prefetchQuery(options);
}

export function HydrateClient({ children }: { children: React.ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
