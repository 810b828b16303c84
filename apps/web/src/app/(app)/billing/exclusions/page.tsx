import type { Metadata } from "next";
import { ExclusionsView } from "~/components/billing/exclusions-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Node exclusions" };

export default async function ExclusionsPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.nodeExclusions.list.queryOptions({}));
  return (
    <HydrateClient>
      <ExclusionsView />
    </HydrateClient>
  );
}
