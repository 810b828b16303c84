import type { Metadata } from "next";
import { MembersView } from "~/components/members/members-view";
import { requireSession } from "~/server/session";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Members" };

export default async function MembersPage() {
  const session = await requireSession();
  const trpc = await getServerTRPC();
  prefetch(trpc.organization.members.queryOptions({}));
  return (
    <HydrateClient>
      <MembersView currentUserId={session.user.id} />
    </HydrateClient>
  );
}
