import { redirect } from "next/navigation";
import { AppShell } from "~/components/shell/app-shell";
import { requireSession } from "~/server/session";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const session = await requireSession();
  if (!session.session.activeOrganizationId) redirect("/onboarding");
  const trpc = await getServerTRPC();
  prefetch(trpc.organization.get.queryOptions());
  prefetch(trpc.organization.list.queryOptions());
  return (
    <HydrateClient>
      <AppShell user={{ name: session.user.name, email: session.user.email }}>{children}</AppShell>
    </HydrateClient>
  );
}
