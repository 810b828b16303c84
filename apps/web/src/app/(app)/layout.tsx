import { redirect } from "next/navigation";
import { AppShell } from "~/components/shell/app-shell";
import { requireSession } from "~/server/session";
import { getQueryClient, getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const session = await requireSession();
  const trpc = await getServerTRPC();
  // The API falls back to the first organization when the session has no active one;
  // only someone without any organization has to make one first.
  const organizations = await getQueryClient().fetchQuery(trpc.organization.list.queryOptions({}));
  if (organizations.length === 0) redirect("/onboarding");
  prefetch(trpc.organization.get.queryOptions({}));
  return (
    <HydrateClient>
      <AppShell user={{ name: session.user.name, email: session.user.email }}>{children}</AppShell>
    </HydrateClient>
  );
}
