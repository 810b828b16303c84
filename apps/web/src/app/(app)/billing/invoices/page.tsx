import type { Metadata } from "next";
import { InvoicesView } from "~/components/billing/invoices-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Invoices" };

export default async function InvoicesPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.invoices.queryOptions({ limit: 24 }));
  return (
    <HydrateClient>
      <InvoicesView />
    </HydrateClient>
  );
}
