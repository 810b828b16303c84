import type { Metadata } from "next";
import { BudgetsView } from "~/components/billing/budgets-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Budgets" };

export default async function BudgetsPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.budgets.list.queryOptions({}));
  prefetch(trpc.billing.settings.get.queryOptions({}));
  return (
    <HydrateClient>
      <BudgetsView />
    </HydrateClient>
  );
}
