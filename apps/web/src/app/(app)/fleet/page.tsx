import type { Metadata } from "next";
import { FleetOverview } from "~/components/fleet/fleet-overview";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Fleet overview" };

export default async function FleetPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.fleet.overview.queryOptions());
  return (
    <HydrateClient>
      <FleetOverview />
    </HydrateClient>
  );
}
