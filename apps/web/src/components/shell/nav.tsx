"use client";

import { roleAtLeast, type Role } from "@stowage/api/client";
import { useQuery } from "@tanstack/react-query";
import { BellIcon, BookOpenIcon, GaugeIcon, KeyRoundIcon, type LucideIcon, ReceiptIcon, ScrollTextIcon, ServerIcon, UsersIcon } from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "~/lib/utils";
import { useTRPC } from "~/trpc/react";

interface NavItem {
  href: string;
  label: string;
  icon: LucideIcon;
  /** Shown only to this role and stronger ones (the page refuses the others anyway). */
  minRole?: Role;
}

const SECTIONS: { label: string; items: NavItem[] }[] = [
  {
    label: "Fleet",
    items: [
      { href: "/fleet", label: "Fleet overview", icon: GaugeIcon },
      { href: "/clusters", label: "Clusters", icon: ServerIcon },
      { href: "/alerts", label: "Alerts", icon: BellIcon },
    ],
  },
  {
    label: "Organization",
    items: [
      { href: "/billing", label: "Billing", icon: ReceiptIcon, minRole: "billing" },
      { href: "/members", label: "Members", icon: UsersIcon },
      { href: "/api-keys", label: "API keys", icon: KeyRoundIcon },
      { href: "/audit-log", label: "Audit log", icon: ScrollTextIcon },
    ],
  },
  { label: "Developers", items: [{ href: "/docs/api", label: "API reference", icon: BookOpenIcon }] },
];

export function SidebarNav({ onNavigate }: { onNavigate?: () => void }) {
  const pathname = usePathname();
  const trpc = useTRPC();
  // Prefetched by the dashboard layout; until it is known, role-gated entries stay hidden.
  const role = useQuery(trpc.organization.get.queryOptions({})).data?.role;
  const visible = (item: NavItem) => item.minRole === undefined || (role !== undefined && roleAtLeast(role, item.minRole));
  return (
    <nav aria-label="Main" className="flex flex-col gap-5">
      {SECTIONS.map((section) => (
        <div key={section.label} className="grid gap-1">
          <p className="px-2 text-xs font-medium text-muted-foreground">{section.label}</p>
          <ul className="grid gap-0.5">
            {section.items.filter(visible).map((item) => {
              const active = pathname === item.href || pathname.startsWith(`${item.href}/`);
              return (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    onClick={onNavigate}
                    aria-current={active ? "page" : undefined}
                    className={cn(
                      "flex items-center gap-2.5 rounded-md px-2 py-1.5 text-sm transition-colors outline-none hover:bg-sidebar-accent focus-visible:ring-2 focus-visible:ring-ring",
                      active ? "bg-sidebar-accent font-medium text-foreground" : "text-muted-foreground",
                    )}
                  >
                    <item.icon className="size-4" aria-hidden />
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}
