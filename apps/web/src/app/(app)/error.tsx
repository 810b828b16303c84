"use client";

import { TriangleAlertIcon } from "lucide-react";
import Link from "next/link";
import { Button, buttonVariants } from "~/components/ui/button";

export default function DashboardError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className="mx-auto grid max-w-md justify-items-center gap-4 py-20 text-center">
      <div className="flex size-12 items-center justify-center rounded-full bg-destructive/10">
        <TriangleAlertIcon className="size-6 text-destructive" aria-hidden />
      </div>
      <h1 className="text-lg font-semibold">Something went wrong</h1>
      <p className="text-sm text-muted-foreground">{error.message || "The page could not be loaded."}</p>
      <div className="flex gap-2">
        <Button onClick={reset}>Try again</Button>
        <Link href="/onboarding" className={buttonVariants({ variant: "outline" })}>
          Switch organization
        </Link>
      </div>
    </div>
  );
}
