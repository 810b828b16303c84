import type { Metadata } from "next";
import { InvoiceDetail } from "~/components/billing/invoice-detail";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../../access";

export const metadata: Metadata = { title: "Invoice" };

export default async function InvoicePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.invoice.queryOptions({ id }));
  return (
    <HydrateClient>
      <InvoiceDetail id={id} />
    </HydrateClient>
  );
}
