import type { Metadata } from "next";
import { AuditLogView } from "~/components/audit/audit-log-view";
import { auditListInput } from "~/components/audit/filters";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";

export const metadata: Metadata = { title: "Audit log" };

export default async function AuditLogPage() {
  const trpc = await getServerTRPC();
  prefetch(trpc.audit.list.queryOptions(auditListInput({})));
  return (
    <HydrateClient>
      <AuditLogView />
    </HydrateClient>
  );
}
