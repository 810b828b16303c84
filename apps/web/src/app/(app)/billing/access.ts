import { roleAtLeast, type Role } from "@stowage/api/client";
import { cache } from "react";
import { getQueryClient, getServerTRPC } from "~/trpc/server";

/**
 * The caller's role and whether it may see billing, once per request: the layout shows the
 * not-allowed page with it, and pages skip prefetching what the API would refuse (Next renders a
 * layout and its page concurrently, so the layout cannot stop the page's prefetches itself).
 */
export const billingAccess = cache(async (): Promise<{ role: Role; allowed: boolean }> => {
  const trpc = await getServerTRPC();
  const organization = await getQueryClient().fetchQuery(trpc.organization.get.queryOptions({}));
  return { role: organization.role, allowed: roleAtLeast(organization.role, "billing") };
});

/**
 * One clock reading per request: pages that depend on the month (which card is in force, which
 * months can be scheduled) render from it on the server, and the client hydrates the same text.
 */
export const requestNow = cache((): number => Date.now());
