import type { Metadata } from "next";
import { BudgetsView } from "~/components/billing/budgets-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Budgets" };

export default async function BudgetsPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.budgets.list.queryOptions({}));
  prefetch(trpc.billing.settings.get.queryOptions({}));
  return (
    <HydrateClient>
      <BudgetsView />
    </HydrateClient>
  );
}
