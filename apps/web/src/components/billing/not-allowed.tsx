import { LockIcon } from "lucide-react";
import Link from "next/link";
import { buttonVariants } from "~/components/ui/button";
import { formatRole } from "~/lib/format";

/** What an operator or viewer sees at /billing: billing is for owners, admins and the billing role. */
export function BillingNotAllowed({ role }: { role: string }) {
  return (
    <section aria-labelledby="billing-not-allowed" className="mx-auto grid max-w-md justify-items-center gap-4 py-20 text-center">
      <div className="flex size-12 items-center justify-center rounded-full bg-muted">
        <LockIcon className="size-6 text-muted-foreground" aria-hidden />
      </div>
      <h1 id="billing-not-allowed" className="text-lg font-semibold">
        You are not allowed to see billing
      </h1>
      <p className="text-sm text-muted-foreground">
        Billing is open to owners, admins and members with the billing role. You are {formatRole(role).toLowerCase()} in this organization; ask an owner if you need
        access.
      </p>
      <Link href="/fleet" className={buttonVariants({ variant: "outline" })}>
        Back to the fleet
      </Link>
    </section>
  );
}
