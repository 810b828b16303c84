import type { Metadata } from "next";
import { SettingsView } from "~/components/billing/settings-view";
import { getServerTRPC, HydrateClient, prefetch } from "~/trpc/server";
import { billingAccess } from "../access";

export const metadata: Metadata = { title: "Billing settings" };

export default async function BillingSettingsPage() {
  if (!(await billingAccess()).allowed) return null;
  const trpc = await getServerTRPC();
  prefetch(trpc.billing.settings.get.queryOptions({}));
  return (
    <HydrateClient>
      <SettingsView />
    </HydrateClient>
  );
}
