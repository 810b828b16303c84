import type { Metadata } from "next";
import { InvoicesView } from "~/components/billing/invoices-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Invoices" };

export default async function InvoicesPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.invoices.queryOptions({ limit: 24 }));
  return (
    <HydrateClient>
      <InvoicesView />
    </HydrateClient>
  );
}
