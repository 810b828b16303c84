import type { Metadata } from "next";
import { ClusterDetail } from "~/components/clusters/cluster-detail";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Cluster" };

export default async function ClusterPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const trpc = await getServerTRPC();
  prefetch(trpc.cluster.get.queryOptions({ id }));
  return (
    <HydrateClient>
      <ClusterDetail id={id} />
    </HydrateClient>
  );
}
