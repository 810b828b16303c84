import type { Metadata } from "next";
import { ApiKeysView } from "~/components/api-keys/api-keys-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "API keys" };

export default async function ApiKeysPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.apiKey.list.queryOptions({}));
  return (
    <HydrateClient>
      <ApiKeysView />
    </HydrateClient>
  );
}
