import type { Metadata } from "next";
import { BillingOverview } from "~/components/billing/billing-overview";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Billing" };

export default async function BillingPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.currentPeriod.queryOptions({}));
  prefetch(trpc.billing.usage.queryOptions({ granularity: "day" }));
  return (
    <HydrateClient>
      <BillingOverview />
    </HydrateClient>
  );
}
