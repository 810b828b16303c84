import type { Metadata } from "next";
import { RateCardsView } from "~/components/billing/rate-cards-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess, requestNow } from "../access";

export const metadata: Metadata = { title: "Rate cards" };

export default async function RatesPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.rateCards.list.queryOptions({}));
  prefetch(trpc.billing.settings.get.queryOptions({}));
  return (
    <HydrateClient>
      <RateCardsView nowMs={requestNow()} />
    </HydrateClient>
  );
}
