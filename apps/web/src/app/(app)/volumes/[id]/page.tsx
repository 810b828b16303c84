import type { Metadata } from "next";
import { VolumeDetail } from "~/components/fleet/volume-detail";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Volume" };

export default async function VolumePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const trpc = await getServerTRPC();
  prefetch(trpc.volume.get.queryOptions({ id }));
  prefetch(trpc.volume.metrics.queryOptions({ id }));
  return (
    <HydrateClient>
      <VolumeDetail id={id} />
    </HydrateClient>
  );
}
