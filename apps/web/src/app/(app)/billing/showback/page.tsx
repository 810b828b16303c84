import type { Metadata } from "next";
import { z } from "zod";
import { ShowbackView } from "~/components/billing/showback-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Showback" };

// Unknown or malformed values fall back to the first cluster and this month.
const searchSchema = z.object({
  cluster: z.uuid().optional().catch(undefined),
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
    .optional()
    .catch(undefined),
});

export default async function ShowbackPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const search = searchSchema.parse(await searchParams);
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.currentPeriod.queryOptions({}));
  // The view always asks with an explicit month; without one in the URL it learns this month first.
  if (search.cluster && search.month) prefetch(trpc.billing.showback.queryOptions({ clusterId: search.cluster, month: search.month }));
  return (
    <HydrateClient>
      <ShowbackView clusterId={search.cluster ?? null} month={search.month ?? null} />
    </HydrateClient>
  );
}
