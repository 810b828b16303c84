import { BILLING_UNITS } from "@stowage/billing";
import { ReceiptIcon } from "lucide-react";
import type { Metadata } from "next";
import Link from "next/link";
import { z } from "zod";
import { BillingTabs } from "~/components/billing/billing-tabs";
import { ExplainView } from "~/components/billing/explain-view";
import { EmptyState } from "~/components/empty-state";
import { PageHeader } from "~/components/page-header";
import { Button } from "~/components/ui/button";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Explain an invoice line" };

// The line to explain, from the query string an invoice's "Explain" link builds.
const searchSchema = z.object({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
  cluster: z.uuid(),
  unit: z.enum(BILLING_UNITS),
  class: z.string().max(200).optional(),
});

export default async function ExplainPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const parsed = searchSchema.safeParse(await searchParams);
  if (!parsed.success) {
    return (
      <>
        <PageHeader title="Explain an invoice line" />
        <BillingTabs />
        <EmptyState
          icon={ReceiptIcon}
          title="Pick a line to explain"
          description="Open an invoice and choose Explain on one of its lines to see the hours and nodes behind it."
          action={
            <Button asChild>
              <Link href="/billing/invoices">Invoices</Link>
            </Button>
          }
        />
      </>
    );
  }
  const input = { month: parsed.data.month, clusterId: parsed.data.cluster, unit: parsed.data.unit, nodeClass: parsed.data.class ?? null };
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.explainLine.queryOptions(input));
  prefetch(trpc.billing.nodeExclusions.list.queryOptions({ clusterId: input.clusterId }));
  return (
    <HydrateClient>
      <ExplainView input={input} />
    </HydrateClient>
  );
}
