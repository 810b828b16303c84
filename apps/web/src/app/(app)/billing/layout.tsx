import { BillingNotAllowed } from "~/components/billing/not-allowed";
import { billingAccess } from "./access";

/**
 * Billing is for owners, admins and the billing role. Operators and viewers get a page that says
 * so instead of the API's FORBIDDEN surfacing as an error (the API still refuses them).
 */
export default async function BillingLayout({ children }: { children: React.ReactNode }) {
  const access = await billingAccess();
  if (!access.allowed) return <BillingNotAllowed role={access.role} />;
  return <div className="grid grid-cols-1 gap-6">{children}</div>;
}
