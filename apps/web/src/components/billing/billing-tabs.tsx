"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "~/lib/utils";

const TABS = [
  { href: "/billing", label: "Cost", exact: true },
  { href: "/billing/invoices", label: "Invoices", exact: false },
  { href: "/billing/showback", label: "Showback", exact: false },
  { href: "/billing/budgets", label: "Budgets", exact: false },
  { href: "/billing/rates", label: "Rates", exact: false },
  { href: "/billing/exclusions", label: "Exclusions", exact: false },
  { href: "/billing/settings", label: "Settings", exact: false },
] as const;

/** The billing section's pages; "explain" belongs to invoices, so it marks that tab. */
export function BillingTabs() {
  const pathname = usePathname();
  return (
    <nav aria-label="Billing" className="flex gap-1 overflow-x-auto border-b">
      {TABS.map((tab) => {
        const active = tab.exact ? pathname === tab.href : pathname.startsWith(tab.href) || (tab.href === "/billing/invoices" && pathname.startsWith("/billing/explain"));
        return (
          <Link
            key={tab.href}
            href={tab.href}
            aria-current={active ? "page" : undefined}
            className={cn(
              "-mb-px rounded-t-md border-b-2 px-3 py-2 text-sm whitespace-nowrap outline-none focus-visible:ring-2 focus-visible:ring-ring",
              active ? "border-primary font-medium text-foreground" : "border-transparent text-muted-foreground hover:text-foreground",
            )}
          >
            {tab.label}
          </Link>
        );
      })}
    </nav>
  );
}
