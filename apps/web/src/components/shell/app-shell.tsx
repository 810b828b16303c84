import Link from "next/link";
import { Suspense } from "react";
import { Logo } from "~/components/logo";
import { Skeleton } from "~/components/ui/skeleton";
import { MobileNav } from "./mobile-nav";
import { SidebarNav } from "./nav";
import { OrgSwitcher } from "./org-switcher";
import { UserMenu } from "./user-menu";

function Switcher() {
  return (
    <Suspense fallback={<Skeleton className="h-11 w-full" />}>
      <OrgSwitcher />
    </Suspense>
  );
}

export function AppShell({ user, children }: { user: { name: string; email: string }; children: React.ReactNode }) {
  return (
    <div className="flex min-h-dvh">
      <a href="#main" className="sr-only z-50 rounded-md bg-background px-3 py-2 focus:not-sr-only focus:fixed focus:top-2 focus:left-2">
        Skip to content
      </a>
      <aside className="sticky top-0 hidden h-dvh w-60 shrink-0 flex-col gap-6 border-r bg-sidebar px-3 py-4 md:flex">
        <Link href="/clusters" className="rounded-sm px-2 focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
          <Logo />
        </Link>
        <Switcher />
        <SidebarNav />
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-30 flex h-14 items-center gap-3 border-b bg-background/90 px-4 backdrop-blur md:px-8">
          <MobileNav switcher={<Switcher />} />
          <Link href="/clusters" className="rounded-sm md:hidden">
            <Logo />
          </Link>
          <div className="flex-1" />
          <UserMenu name={user.name} email={user.email} />
        </header>
        <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 md:px-8">
          {children}
        </main>
      </div>
    </div>
  );
}
