import type { Metadata } from "next";
import { RateCardForm } from "~/components/billing/rate-card-form";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess, requestNow } from "../../access";

export const metadata: Metadata = { title: "Schedule a rate card" };

export default async function NewRateCardPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.rateCards.list.queryOptions({}));
  prefetch(trpc.billing.settings.get.queryOptions({}));
  return (
    <HydrateClient>
      <RateCardForm nowMs={requestNow()} />
    </HydrateClient>
  );
}
