import { roleAtLeast } from "@stowage/api/client";
import { BillingNotAllowed } from "~/components/billing/not-allowed";
import { getQueryClient, getServerTRPC } from "~/trpc/server";

/**
 * Billing is for owners, admins and the billing role. Operators and viewers get a page that says
 * so instead of the API's FORBIDDEN surfacing as an error (the API still refuses them).
 */
export default async function BillingLayout({ children }: { children: React.ReactNode }) {
  const trpc = await getServerTRPC();
  const organization = await getQueryClient().fetchQuery(trpc.organization.get.queryOptions({}));
  if (!roleAtLeast(organization.role, "billing")) return <BillingNotAllowed role={organization.role} />;
  return <div className="grid grid-cols-1 gap-6">{children}</div>;
}
