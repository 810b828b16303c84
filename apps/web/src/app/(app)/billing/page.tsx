import type { Metadata } from "next";
import { BillingOverview } from "~/components/billing/billing-overview";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "./access";

export const metadata: Metadata = { title: "Billing" };

export default async function BillingPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.currentPeriod.queryOptions({}));
  prefetch(trpc.billing.usage.queryOptions({ granularity: "day" }));
  return (
    <HydrateClient>
      <BillingOverview />
    </HydrateClient>
  );
}
