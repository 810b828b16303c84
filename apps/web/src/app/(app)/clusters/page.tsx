import type { Metadata } from "next";
import { ClustersView } from "~/components/clusters/clusters-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Clusters" };

export default async function ClustersPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.cluster.list.queryOptions({}));
  return (
    <HydrateClient>
      <ClustersView />
    </HydrateClient>
  );
}
