"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { BookOpenIcon, LogOutIcon } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator, DropdownMenuTrigger } from "~/components/ui/dropdown-menu";
import { toast } from "~/components/ui/toaster";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { initials } from "~/lib/format";

export function UserMenu({ name, email }: { name: string; email: string }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const signOut = useMutation({
    mutationFn: async () => {
      const { error } = await authClient.signOut();
      if (error) throw new Error(authErrorMessage(error, "Could not sign out"));
    },
    onSuccess: () => {
      queryClient.clear();
      router.replace("/sign-in");
      router.refresh();
    },
    onError: (err) => toast(err.message, { variant: "destructive" }),
  });
  return (
    <DropdownMenu>
      {/* Named by its content, not aria-label: a label must contain the visible text
          (WCAG 2.5.3), and the initials alone say nothing to a screen reader. */}
      <DropdownMenuTrigger className="flex size-8 items-center justify-center rounded-full bg-muted text-xs font-semibold outline-none hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring">
        <span aria-hidden>{initials(name || email)}</span>
        <span className="sr-only">{`Account: ${name || email}`}</span>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end" className="w-60">
        <DropdownMenuLabel className="grid gap-0.5">
          <span className="truncate text-sm font-medium text-foreground">{name}</span>
          <span className="truncate text-xs font-normal">{email}</span>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem asChild>
          <Link href="/docs/api">
            <BookOpenIcon aria-hidden />
            API reference
          </Link>
        </DropdownMenuItem>
        <DropdownMenuItem onSelect={() => signOut.mutate()} disabled={signOut.isPending}>
          <LogOutIcon aria-hidden />
          Sign out
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
