"use client";

import { useMutation, useQueryClient, useSuspenseQuery } from "@tanstack/react-query";
import { CheckIcon, ChevronsUpDownIcon, PlusIcon } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { CreateOrganizationForm } from "~/components/organization/create-organization-form";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "~/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "~/components/ui/dropdown-menu";
import { toast } from "~/components/ui/toaster";
import { authClient, authErrorMessage } from "~/lib/auth-client";
import { formatRole, initials } from "~/lib/format";
import { useTRPC } from "~/trpc/react";

export function OrgSwitcher() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data: active } = useSuspenseQuery(trpc.organization.get.queryOptions({}));
  const { data: organizations } = useSuspenseQuery(trpc.organization.list.queryOptions({}));
  const [creating, setCreating] = useState(false);
  const switchTo = useMutation({
    mutationFn: async (organizationId: string) => {
      const { error } = await authClient.organization.setActive({ organizationId });
      if (error) throw new Error(authErrorMessage(error, "Could not switch organization"));
    },
    onSuccess: async () => {
      // Everything cached belongs to the previous organization.
      queryClient.clear();
      router.push("/clusters");
      router.refresh();
    },
    onError: (err) => toast(err.message, { variant: "destructive" }),
  });

  return (
    <>
      <DropdownMenu>
        {/* Named by its content, not aria-label: a label must contain the visible text
            (WCAG 2.5.3); the visible lines are the name and role the sr-only text reads out. */}
        <DropdownMenuTrigger
          className="flex w-full items-center gap-2.5 rounded-md border bg-background px-2 py-1.5 text-left text-sm shadow-xs outline-none hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring"
        >
          <span className="flex size-7 shrink-0 items-center justify-center rounded-md bg-brand text-xs font-semibold text-white" aria-hidden>
            {initials(active.name)}
          </span>
          <span className="sr-only">{`Organization: ${active.name}, ${formatRole(active.role)}. Switch organization`}</span>
          <span className="grid min-w-0 flex-1" aria-hidden>
            <span className="truncate font-medium">{active.name}</span>
            <span className="truncate text-xs text-muted-foreground">{formatRole(active.role)}</span>
          </span>
          <ChevronsUpDownIcon className="size-4 text-muted-foreground" aria-hidden />
        </DropdownMenuTrigger>
        <DropdownMenuContent align="start" className="w-64">
          <DropdownMenuLabel>Organizations</DropdownMenuLabel>
          {organizations.map((org) => (
            <DropdownMenuItem
              key={org.id}
              disabled={switchTo.isPending}
              onSelect={() => {
                if (org.id !== active.id) switchTo.mutate(org.id);
              }}
            >
              <span className="flex size-5 shrink-0 items-center justify-center rounded bg-muted text-[10px] font-semibold" aria-hidden>
                {initials(org.name)}
              </span>
              <span className="flex-1 truncate">{org.name}</span>
              {org.id === active.id ? <CheckIcon aria-label="Current organization" /> : null}
            </DropdownMenuItem>
          ))}
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => setCreating(true)}>
            <PlusIcon aria-hidden />
            Create organization
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <Dialog open={creating} onOpenChange={setCreating}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Create organization</DialogTitle>
            <DialogDescription>A separate space for clusters, API keys and members. You become its owner.</DialogDescription>
          </DialogHeader>
          <CreateOrganizationForm onCreated={() => setCreating(false)} />
        </DialogContent>
      </Dialog>
    </>
  );
}
